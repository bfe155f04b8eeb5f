import cluster, { type Worker } from "node:cluster";
import type { GatewayConfig } from "../config/gateway-config.js";
import { createLogger } from "../log.js";
import { isWorkerMessage } from "./messages.js";
import { type PrimaryListeners, startPrimaryListeners } from "./primary-listeners.js";

/** How the supervisor restarts and stops workers. */
export interface SupervisorSettings {
  /** First restart delay after a crash; doubles with each crash in a row. */
  restartBaseMs: number;
  /** Longest restart delay. */
  restartMaxMs: number;
  /** A worker that served this long before crashing starts a fresh count of crashes in a row. */
  stableMs: number;
  /** Crashes in a row (none of them after `stableMs`) that end the supervisor. */
  maxCrashes: number;
  /** Beyond `shutdownGraceMs`: how long a draining worker may take to exit before it is killed. */
  exitSlackMs: number;
}

export const SUPERVISOR_DEFAULTS: Readonly<SupervisorSettings> = Object.freeze({
  restartBaseMs: 250,
  restartMaxMs: 10_000,
  stableMs: 30_000,
  maxCrashes: 5,
  exitSlackMs: 5_000,
});

/** One of the N places a worker runs in; its worker changes with each restart. */
interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  listeningSince: number | undefined;
  crashes: number;
  restart: NodeJS.Timeout | undefined;
}

const say = (line: string) => process.stderr.write(`prism gateway: ${line}\n`);

/**
 * Runs `workers` gateway processes on one gRPC port with `node:cluster` (ADR-0028): the primary
 * (this process) accepts connections and hands them to the workers in turn, each worker runs
 * `startGateway`. A crashed worker is restarted after a delay that doubles with each crash in a
 * row; `maxCrashes` in a row, or any worker failing before all first listened, stop everything
 * with exit code 1 (2 for a worker's config error). SIGTERM / SIGINT are forwarded; workers drain
 * (in-flight calls finish), one still running `shutdownGraceMs + exitSlackMs` later is killed;
 * then the supervisor exits 0. The metrics endpoint and the admin UI are the supervisor's.
 *
 * @example await superviseWorkers(config, 2, "embedded default config");
 */
export async function superviseWorkers(
  config: Readonly<GatewayConfig>,
  workers: number,
  source: string,
  settings: Readonly<SupervisorSettings> = SUPERVISOR_DEFAULTS,
): Promise<void> {
  const logger = createLogger(config.logLevel);
  const slots: Slot[] = Array.from({ length: workers }, (_, i) => ({
    index: i + 1,
    worker: undefined,
    listeningSince: undefined,
    crashes: 0,
    restart: undefined,
  }));
  let ready = false;
  let stopping = false;
  let exitCode = 0;
  let listeners: PrimaryListeners | undefined;
  const slotOf = (worker: Worker) => slots.find((slot) => slot.worker === worker);

  const fork = (slot: Slot) => {
    slot.restart = undefined;
    slot.listeningSince = undefined;
    slot.worker = cluster.fork();
  };

  const stop = (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    const running = slots.filter((slot) => slot.worker);
    say(`${why}, stopping ${running.length} workers`);
    for (const slot of slots) clearTimeout(slot.restart);
    void (async () => {
      await listeners?.close();
      for (const { worker } of running) worker?.process.kill("SIGTERM");
      const kill = setTimeout(() => {
        for (const { index, worker } of slots) {
          if (!worker) continue;
          say(`worker ${index} (pid ${worker.process.pid}) still running after the grace period; killing it`);
          exitCode ||= 1;
          worker.process.kill("SIGKILL");
        }
      }, config.shutdownGraceMs + settings.exitSlackMs);
      kill.unref();
      finishWhenStopped();
    })();
  };

  const finishWhenStopped = () => {
    if (!stopping || slots.some((slot) => slot.worker)) return;
    say("stopped");
    logger.flush();
    process.exit(exitCode);
  };

  cluster.on("message", (worker, message: unknown) => {
    const slot = slotOf(worker);
    if (!slot || !isWorkerMessage(message)) return;
    slot.listeningSince = Date.now();
    say(`worker ${slot.index} started (pid ${worker.process.pid})`);
    if (ready || slots.some((other) => other.listeningSince === undefined)) return;
    ready = true;
    say(`listening on ${message.address} (${workers} workers, ${source})`);
    void startPrimaryListeners(config, message.address, logger).then((started) => {
      if (stopping) void started.close();
      else listeners = started;
    });
  });

  cluster.on("exit", (worker, code, signal) => {
    const slot = slotOf(worker);
    if (!slot) return;
    slot.worker = undefined;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const pid = worker.process.pid;
    if (stopping) {
      say(`worker ${slot.index} (pid ${pid}) exited with ${how}`);
      if (code !== 0 && !signal) exitCode ||= 1;
      finishWhenStopped();
      return;
    }
    if (!ready) {
      say(`worker ${slot.index} (pid ${pid}) exited with ${how} before the gateway was up`);
      stop("a worker failed to start", code === 2 ? 2 : 1);
      return;
    }
    const served = slot.listeningSince === undefined ? 0 : Date.now() - slot.listeningSince;
    const next = afterCrash(slot.crashes, served, settings);
    slot.crashes = next.crashes;
    if (next.delayMs === undefined) {
      say(`worker ${slot.index} (pid ${pid}) exited with ${how}, crash ${slot.crashes} in a row`);
      stop(`worker ${slot.index} keeps crashing (see its output above); giving up`, 1);
      return;
    }
    const delay = next.delayMs;
    say(`worker ${slot.index} (pid ${pid}) exited with ${how}; restarting it in ${delay} ms`);
    slot.restart = setTimeout(() => fork(slot), delay);
  });

  process.on("SIGTERM", () => stop("SIGTERM", 0));
  process.on("SIGINT", () => stop("SIGINT", 0));
  say(`supervisor pid ${process.pid} starting ${workers} workers`);
  for (const slot of slots) fork(slot);
}

/**
 * What follows a worker's crash: its count of crashes in a row (restarted at 1 when it had served
 * `stableMs`), and the delay before its restart — undefined when the count passed `maxCrashes`.
 *
 * @example afterCrash(0, 120_000, SUPERVISOR_DEFAULTS) // { crashes: 1, delayMs: 250 }
 */
export function afterCrash(
  crashesBefore: number,
  servedMs: number,
  settings: Readonly<SupervisorSettings>,
): { crashes: number; delayMs: number | undefined } {
  const crashes = servedMs >= settings.stableMs ? 1 : crashesBefore + 1;
  if (crashes > settings.maxCrashes) return { crashes, delayMs: undefined };
  return { crashes, delayMs: Math.min(settings.restartBaseMs * 2 ** (crashes - 1), settings.restartMaxMs) };
}
