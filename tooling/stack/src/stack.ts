import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stackDir } from "./config.js";
import { gremlinServer } from "./gremlin.js";
import { kafkaServer } from "./kafka.js";
import { logExcerpt } from "./log-excerpt.js";
import { natsServer } from "./nats.js";
import { postgresServer } from "./postgres.js";
import { isPortFree, isProcessAlive, readPid, spawnDetached, stopProcess, waitUntil } from "./process.js";
import type { Log, ServerName, StackServer } from "./server.js";

const FACTORIES: Readonly<Record<ServerName, (dir: string) => StackServer>> = {
  postgres: postgresServer,
  nats: natsServer,
  kafka: kafkaServer,
  gremlin: gremlinServer,
};

const quiet: Log = () => {};

/** The server `name`, rooted at `<stack dir>/<name>`. */
export function stackServer(name: ServerName): StackServer {
  return FACTORIES[name](join(stackDir(), name));
}

const pidFile = (server: StackServer): string => join(server.dir, `${server.name}.pid`);
/** The log a server's stdout and stderr are appended to. @example ".stack/kafka/kafka.log" */
export const logFile = (server: StackServer): string => join(server.dir, `${server.name}.log`);

/** The pid of the server's process when the stack started it and it is still alive. */
export function runningPid(server: StackServer): number | undefined {
  const pid = readPid(pidFile(server));
  return pid !== undefined && isProcessAlive(pid, server.processMarker) ? pid : undefined;
}

/** Whether the server answers a real request (SELECT 1, JetStream account info, metadata, g.V().count()). */
export async function isHealthy(name: ServerName, timeoutMs = 3_000): Promise<boolean> {
  try {
    await stackServer(name).probe(timeoutMs);
    return true;
  } catch {
    return false;
  }
}

/** Installs the server's Debian package or jars unless already present; resolves whether it did. */
export async function installServer(name: ServerName, log: Log = quiet): Promise<boolean> {
  const server = stackServer(name);
  mkdirSync(server.dir, { recursive: true });
  if (await server.isInstalled()) return false;
  log(`installing ${server.title}`);
  await server.install(log);
  return true;
}

/** What {@link startServer} found or did. */
export type StartOutcome =
  | { readonly state: "started" | "already running"; readonly pid: number }
  | { readonly state: "answering, not ours" };

/**
 * Starts the server detached unless it already runs, and resolves once it answers. Installs it
 * first when needed. Data from earlier runs is kept, so a stop/start brings the same data back.
 *
 * @example
 * await stopServer("postgres");   // the backend goes away
 * await startServer("postgres");  // and comes back with its data
 */
export async function startServer(name: ServerName, log: Log = quiet): Promise<StartOutcome> {
  const server = stackServer(name);
  mkdirSync(server.dir, { recursive: true });
  return withLock(server, async () => {
    const running = runningPid(server);
    if (running !== undefined) {
      // Possibly still starting (launched by another process): wait for it like a fresh start.
      await waitUntilAnswering(server, running);
      return { state: "already running", pid: running };
    }
    rmSync(pidFile(server), { force: true });
    if (await isHealthy(name)) return { state: "answering, not ours" };
    for (const port of server.ports) {
      if (!(await isPortFree(port))) {
        throw new Error(
          `${server.title} cannot start: 127.0.0.1:${port} is taken by a process this stack did not start`,
        );
      }
    }
    if (!(await server.isInstalled())) await installServer(name, log);
    const spec = await server.prepare(log);
    const pid = await spawnDetached(spec, logFile(server));
    writeFileSync(pidFile(server), `${pid}\n`);
    log(`started pid ${pid}; waiting up to ${server.startTimeoutMs / 1000}s for it to answer`);
    await waitUntilAnswering(server, pid);
    return { state: "started", pid };
  });
}

async function waitUntilAnswering(server: StackServer, pid: number): Promise<void> {
  try {
    await waitUntil(
      async () => {
        await server.afterLaunch?.(5_000);
        await server.probe(5_000);
      },
      {
        what: `${server.title} at ${server.address}`,
        timeoutMs: server.startTimeoutMs,
        giveUpIf: () => (isProcessAlive(pid, server.processMarker) ? undefined : `process ${pid} exited`),
      },
    );
  } catch (error) {
    if (!isProcessAlive(pid, server.processMarker)) rmSync(pidFile(server), { force: true });
    const excerpt = logExcerpt(logFile(server));
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n--- from ${logFile(server)}:\n${excerpt}`, { cause: error });
  }
}

/** Options for {@link stopServer}. */
export interface StopOptions {
  /** Also delete the server's data (downloads and config stay). @example { purge: true } */
  readonly purge?: boolean;
  /** Simulate a crash (SIGKILL; Postgres: immediate shutdown) instead of stopping gracefully. @example { crash: true } */
  readonly crash?: boolean;
}

/** Stops the process the stack started (by pid file), waits for it to exit and removes the pid file. */
export async function stopServer(
  name: ServerName,
  options: StopOptions = {},
): Promise<"stopped" | "killed" | "not running"> {
  const server = stackServer(name);
  mkdirSync(server.dir, { recursive: true });
  return withLock(server, async () => {
    const pid = readPid(pidFile(server));
    const signal = options.crash ? server.crashSignal : server.stopSignal;
    const outcome =
      pid === undefined ? "not running" : await stopProcess(pid, server.processMarker, signal, 60_000);
    rmSync(pidFile(server), { force: true });
    if (options.purge) for (const dir of server.dataDirs) rmSync(dir, { recursive: true, force: true });
    return outcome;
  });
}

/**
 * Serialises start and stop of one server across processes (parallel test workers, two CLIs), so
 * two launches never race for the port and the pid file always names the live process.
 */
async function withLock<T>(server: StackServer, action: () => Promise<T>): Promise<T> {
  const lock = join(server.dir, `${server.name}.lock`);
  const deadline = Date.now() + server.startTimeoutMs + 90_000;
  for (;;) {
    try {
      const fd = openSync(lock, "wx");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (!lockHolderAlive(lock)) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`${lock} is held by another process for too long`);
      else await sleep(200);
    }
  }
  try {
    return await action();
  } finally {
    rmSync(lock, { force: true });
  }
}

function lockHolderAlive(lock: string): boolean {
  let holder: number;
  try {
    holder = Number.parseInt(readFileSync(lock, "utf8"), 10);
  } catch {
    return true; // just created, pid not written yet
  }
  if (!Number.isInteger(holder)) return true;
  try {
    process.kill(holder, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
