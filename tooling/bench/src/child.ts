import { type ChildProcess, spawn } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";

/** A server the bench started in its own process. */
export interface ChildServer {
  /** Label used in logs and errors, e.g. `gateway`. */
  readonly name: string;
  /** Pid of the process that serves (no wrapper process in between), for `/proc` readings. */
  readonly pid: number;
  /** `host:port` the child reported it listens on. */
  readonly address: string;
  /** The process itself, e.g. for IPC with a preloaded probe. */
  readonly process: ChildProcess;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** How to start a TypeScript entry point as a server child. */
export interface ChildSpec {
  name: string;
  /** Absolute path of the `.ts` entry, or of a bundled `.mjs` or compiled `.js` one (run without tsx). */
  entry: string;
  /** The orphan guard to preload instead of the `.ts` one (a bundled entry needs a bundled guard). */
  guard?: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: readonly string[];
  /** Extra modules to preload (`--import`), after the orphan guard. */
  preload?: readonly string[];
  /** Milliseconds to wait for the "listening on host:port" line on stderr. */
  readyTimeoutMs?: number;
}

const LISTENING = /listening on (\S+)/;
const live = new Set<ChildProcess>();

// Last resort for every exit path of the bench, including an uncaught error.
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/**
 * Starts `node --import tsx <entry>` directly (not the `tsx` CLI, which would put a wrapper process
 * between us and the server and skew its CPU and RSS readings) and waits until it reports its
 * address. Its output is forwarded to our stderr, prefixed with its name.
 *
 * @example const bare = await startChild({ name: "bare", entry, args: [], cwd, env: process.env })
 */
export async function startChild(spec: ChildSpec): Promise<ChildServer> {
  const loader = /\.m?js$/.test(spec.entry) ? [] : ["--import", import.meta.resolve("tsx")];
  const guard = spec.guard ?? import.meta.resolve("./orphan-guard.ts");
  const child = spawn(
    process.execPath,
    [
      ...(spec.nodeArgs ?? []),
      ...loader,
      ...["--import", guard],
      ...(spec.preload ?? []).flatMap((module) => ["--import", module]),
      spec.entry,
      ...spec.args,
    ],
    { cwd: spec.cwd, env: spec.env, stdio: ["ignore", "pipe", "pipe", "ipc"] },
  );
  live.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      live.delete(child);
      resolve();
    }),
  );
  const stderrLines = forward(child, spec.name);
  try {
    const address = await waitForAddress(child, stderrLines, spec);
    const stop = async (graceMs = 5000): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
    };
    return { name: spec.name, pid: child.pid!, address, process: child, stop };
  } catch (error) {
    child.kill("SIGKILL");
    // A child that never spawned (no pid) never emits "exit".
    if (child.pid === undefined) live.delete(child);
    else await exited;
    throw error;
  }
}

/** The repo's root, for spawning `gateway/src/main.ts` and resolving relative paths. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Copies the child's output to our stderr line by line; returns its stderr lines for listeners. */
function forward(child: ChildProcess, name: string): Interface {
  const prefix = (line: string) => process.stderr.write(`[${name}] ${line}\n`);
  createInterface({ input: child.stdout! }).on("line", prefix);
  return createInterface({ input: child.stderr! }).on("line", prefix);
}

function waitForAddress(child: ChildProcess, lines: Interface, spec: ChildSpec): Promise<string> {
  const timeoutMs = spec.readyTimeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`${spec.name} did not report an address within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onExit = (code: number | null, signal: string | null) =>
      finish(
        new Error(
          `${spec.name} exited before listening (code ${code}, signal ${signal}); see its output above`,
        ),
      );
    const onError = (error: Error) => finish(new Error(`${spec.name} could not start: ${error.message}`));
    const onLine = (line: string) => {
      const match = LISTENING.exec(line);
      if (match) finish(undefined, match[1]!);
    };
    function finish(error: Error | undefined, address?: string) {
      clearTimeout(timer);
      lines.off("line", onLine);
      child.off("exit", onExit);
      child.off("error", onError);
      if (error) reject(error);
      else resolve(address!);
    }
    lines.on("line", onLine);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}
