import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dirname, "../..");
const TSX = join(REPO, "node_modules/.bin/tsx");

/** `gateway/src/main.ts` running (or already exited) as a process, with whatever arguments it got. */
export interface LaunchedGateway {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
  /** Resolves with the `host:port` it says it listens on; rejects if it exits first or takes over 30 s. */
  listening(): Promise<string>;
  /** Sends `signal` (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Spawns the gateway as users run it (`tsx gateway/src/main.ts …args`) from the repository root.
 * `env` entries set to `undefined` are removed from the inherited environment, e.g. `PRISM_CONFIG`
 * to get the embedded default.
 *
 * @example const gateway = launchGateway({ args: ["--config", file] }); await gateway.exited;
 */
export function launchGateway(
  options: { args?: readonly string[]; env?: Record<string, string | undefined> } = {},
): LaunchedGateway {
  // The admin UI takes a free port (gateways of parallel tests would all want 8981).
  const env: Record<string, string | undefined> = {
    PRISM_ADMIN_ADDR: "127.0.0.1:0",
    ...process.env,
    ...options.env,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  // Its own process group: `tsx` runs the gateway in a child node process, and a SIGKILL of the
  // tsx process alone would leave that gateway running (a crash test would then crash nothing).
  const child = spawn(TSX, [join(REPO, "gateway/src/main.ts"), ...(options.args ?? [])], {
    cwd: REPO,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  let address: Promise<string> | undefined;
  const listening = () =>
    (address ??= new Promise<string>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`gateway did not start within 30 s:\n${output}`)),
        30_000,
      );
      const poll = setInterval(() => {
        const match = /prism gateway listening on (\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          clearInterval(poll);
          done(match[1]!);
        }
      }, 25);
      exited.then((code) => {
        clearTimeout(timer);
        clearInterval(poll);
        fail(new Error(`gateway exited with ${code} before listening:\n${output}`));
      });
    }));
  return {
    child,
    output: () => output,
    exited,
    listening,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      // tsx relays SIGTERM/SIGINT to the gateway; SIGKILL cannot be relayed, so it goes to the group.
      if (signal === "SIGKILL" && child.pid !== undefined) process.kill(-child.pid, signal);
      else child.kill(signal);
      return exited;
    },
  };
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", done);
  });
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** Polls `probe` until it returns true (or stops throwing), up to `timeoutMs`. */
export async function eventually(
  probe: () => Promise<boolean>,
  timeoutMs = 5000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await probe()) return;
      last = undefined;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
