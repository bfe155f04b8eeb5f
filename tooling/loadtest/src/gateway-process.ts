import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The repository's root, where the gateway runs from. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** A gateway this harness started. */
export interface SpawnedGateway {
  /** Pid of the process that serves (no tsx wrapper in between), for `/proc` readings. */
  readonly pid: number;
  /** `host:port` of its gRPC listener. */
  readonly address: string;
  /** `http://127.0.0.1:PORT/metrics`: its Prometheus endpoint. */
  readonly metricsUrl: string;
  /** SIGTERM, then SIGKILL after `graceMs`; removes its data directory. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `gateway/src/main.ts` (with `--config FILE`, or the embedded default without) as users run
 * it, but on free loopback ports and with a fresh data directory: `node --import tsx` directly, so
 * the pid is the gateway's own (its RSS, not a wrapper's), and an orphan guard so it ends with us.
 * Its warnings and errors are forwarded to our stderr as `[gateway] …`.
 *
 * @example const gateway = await spawnGateway(); …; await gateway.stop()
 */
export async function spawnGateway(options: { config?: string } = {}): Promise<SpawnedGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), "prism-loadtest-"));
  const metricsPort = await freeLoopbackPort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PRISM_GRPC_ADDR: "127.0.0.1:0",
    PRISM_METRICS_ADDR: `127.0.0.1:${metricsPort}`,
    PRISM_ADMIN_ADDR: "127.0.0.1:0",
    PRISM_DATA_DIR: dataDir,
    PRISM_LOG_LEVEL: "warn",
  };
  delete env.PRISM_CONFIG;
  const child = spawn(
    process.execPath,
    [
      ...["--import", import.meta.resolve("tsx")],
      ...["--import", import.meta.resolve("./orphan-guard.ts")],
      join(REPO_ROOT, "gateway/src/main.ts"),
      ...(options.config ? ["--config", options.config] : []),
    ],
    // Its own process group: a Ctrl-C at the terminal stops the run (which then reports what it
    // measured), not the gateway under it; the orphan guard still ends it with us.
    { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe", "ipc"], detached: true },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const removeData = () => rmSync(dataDir, { recursive: true, force: true });
  const lastResort = () => child.kill("SIGKILL");
  process.once("exit", lastResort);
  let stopped: Promise<void> | undefined;
  const stop = (graceMs = 5000): Promise<void> =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      process.off("exit", lastResort);
      removeData();
    })());
  try {
    const address = await listeningAddress(child);
    return { pid: child.pid!, address, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, stop };
  } catch (error) {
    await stop(0);
    throw error;
  }
}

/** Resolves with the address of the gateway's "listening on host:port" line. */
function listeningAddress(child: ChildProcess): Promise<string> {
  const forward = (line: string) => process.stderr.write(`[gateway] ${line}\n`);
  createInterface({ input: child.stdout! }).on("line", forward);
  const lines = createInterface({ input: child.stderr! });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the gateway did not start within 60 s")), 60_000);
    lines.on("line", (line) => {
      const match = /listening on (\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      } else forward(line);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited before listening (code ${code}, signal ${signal})`));
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`the gateway could not start: ${error.message}`));
    });
  });
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
