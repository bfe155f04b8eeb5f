import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Backend, TimeSeriesBackend, TsEvent, TsNamespaceSettings } from "@prism/core";
import { DRIVERS } from "@prism/gateway";
import type { ChildServer } from "./child.js";
import { startGatewayProcess } from "./gateway-process.js";
import { summarize } from "./histogram.js";
import { cpuSeconds } from "./proc-stats.js";
import { TsH2Client } from "./ts-client.js";
import { runTsWindow, type TsCall, type TsWindowResult } from "./ts-load.js";
import type { TsBackendResult, TsSettings, TsWindow, TsWriteComparison } from "./ts-report.js";
import { type TsBackend, type TsEndpoints, tsStore } from "./ts-stores.js";

/** Everything `pnpm bench ts` can be asked for. */
export interface TsBenchOptions extends Omit<TsSettings, "cpus" | "backends">, TsEndpoints {
  readonly backends: readonly TsBackend[];
  /** Write each gateway's V8 CPU profile into `<dir>/<backend>/` (not part of the report). */
  readonly cpuProfileDir?: string;
}

const HOUR_MS = 3_600_000;
/** The namespaces' settings: the gateway's (from its config below) and the direct client's. */
const SETTINGS: TsNamespaceSettings = {
  retentionMs: 30 * 24 * HOUR_MS,
  acceptPastMs: 24 * HOUR_MS,
  acceptFutureMs: HOUR_MS,
};
const GATEWAY_NAMESPACE = "ts-gateway";
const DIRECT_NAMESPACE = "ts-direct";
/** Events of a series are 1 ms apart, from two hours ago: inside the accept window for 25 h of events. */
const STEP_US = 1000;
const START_AGO_MS = 2 * HOUR_MS;
/** The gateway's default page bytes (1 MiB), which the direct reads use too. */
const PAGE_BYTES = 1 << 20;
/** HTTP/2 connections to the gateway the calls spread over. */
const GATEWAY_CONNECTIONS = 2;
/** Bound of one call (the gateway's default deadline). */
const CALL_TIMEOUT_MS = 30_000;

/**
 * Runs the TimeSeries benchmark on each backend in turn, handing each result to `onBackend` as
 * soon as it is measured. A backend that fails is reported with its error and the run goes on.
 *
 * @example const { settings, results } = await runTsBench(options, (r) => print(r))
 */
export async function runTsBench(
  options: TsBenchOptions,
  onBackend: (result: TsBackendResult) => void = () => {},
): Promise<{ settings: TsSettings; results: TsBackendResult[] }> {
  const results: TsBackendResult[] = [];
  for (const [index, backend] of options.backends.entries()) {
    const result = await measureBackend(options, backend, index);
    results.push(result);
    onBackend(result);
  }
  const { pgUrl: _pg, natsUrl: _nats, kafkaBrokers: _kafka, ...settings } = options;
  return { settings: { ...settings, cpus: availableParallelism() }, results };
}

/** What each target wrote, per series: reads start at random positions inside it. */
interface Written {
  seriesId: string;
  baseUs: number;
  /** Events at positions 0 … count-1 (1 ms apart), as far as the writes succeeded. */
  count: number;
}

/** One side of the comparison: how it writes a batch and reads a page. */
interface Target {
  readonly name: "gateway" | "direct";
  write(seriesId: string, events: TsEvent[]): Promise<number>;
  read(seriesId: string, startUs: bigint): Promise<number>;
  /** CPU seconds of the process doing this target's work (the gateway's; the bench's for direct). */
  cpu(): number | undefined;
}

async function measureBackend(
  options: TsBenchOptions,
  backend: TsBackend,
  index: number,
): Promise<TsBackendResult> {
  const log = (text: string) => process.stderr.write(`bench ts ${backend}: ${text}\n`);
  const writes: TsWriteComparison[] = [];
  const driver = DRIVERS.find((d) => d.type === backend && d.patterns.includes("timeseries"));
  if (!driver) {
    return {
      backend,
      writes,
      error: `no ${backend} driver with TimeSeries is registered in gateway/src/drivers.ts`,
    };
  }
  const run = randomBytes(4).toString("hex");
  const store = tsStore(backend, run, options);
  let gateway: ChildServer | undefined;
  let client: TsH2Client | undefined;
  let direct: Backend | undefined;
  try {
    const problems = driver.validate(store.direct);
    if (problems.length > 0) throw new Error(`direct options: ${problems.join("; ")}`);
    log("starting the gateway and opening the direct client…");
    gateway = await startGatewayProcess({
      backends: { store: store.gateway },
      namespaces: {
        [GATEWAY_NAMESPACE]: {
          pattern: "timeseries",
          backend: "store",
          retention: "30d",
          accept_window: { past: "1d", future: "1h" },
        },
      },
      env: store.env,
      ...(options.cpuProfileDir && {
        nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${join(options.cpuProfileDir, backend)}`],
      }),
    });
    client = new TsH2Client(gateway.address, GATEWAY_CONNECTIONS);
    direct = await driver.open({ name: "bench-direct", options: store.direct, dataDir: store.dir });
    const ts = direct.timeseries!;
    // As the gateway does when it binds a namespace (NATS and Kafka configure their max age here).
    await ts.retain(DIRECT_NAMESPACE, { settings: SETTINGS, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    const targets = {
      gateway: gatewayTarget(client, gateway.pid, options.pageEvents),
      direct: directTarget(ts, options.pageEvents),
    };
    const written = { gateway: [] as Written[], direct: [] as Written[] };
    const baseUs = (Date.now() - START_AGO_MS) * 1000;

    for (const [b, batch] of options.batches.entries()) {
      const order =
        (b + index) % 2 === 0 ? (["gateway", "direct"] as const) : (["direct", "gateway"] as const);
      const windows: Partial<Record<"gateway" | "direct", TsWindow>> = {};
      for (const name of order) {
        log(`writing batches of ${batch} (${name})…`);
        const series = Array.from({ length: options.writers }, (_, w) => ({
          seriesId: `b${batch}-w${w}`,
          baseUs,
          count: 0,
        }));
        written[name].push(...series);
        windows[name] = await writeWindow(options, targets[name], series, batch);
      }
      writes.push({ batch, first: order[0], gateway: windows.gateway!, direct: windows.direct! });
    }

    const readOrder =
      (options.batches.length + index) % 2 === 0
        ? (["gateway", "direct"] as const)
        : (["direct", "gateway"] as const);
    const reads: Partial<Record<"gateway" | "direct", TsWindow>> = {};
    for (const name of readOrder) {
      log(`reading pages of ${options.pageEvents} (${name})…`);
      reads[name] = await readWindow(options, targets[name], written[name]);
    }
    return { backend, writes, reads: { gateway: reads.gateway!, direct: reads.direct! } };
  } catch (error) {
    return { backend, writes, error: (error as Error).message };
  } finally {
    client?.close();
    await gateway?.stop();
    await direct?.close().catch(() => {});
    await store.cleanup();
  }
}

function gatewayTarget(client: TsH2Client, pid: number, pageEvents: number): Target {
  return {
    name: "gateway",
    async write(seriesId, events) {
      const { written, duplicates } = await client.write(GATEWAY_NAMESPACE, seriesId, events);
      return checkWritten(written, duplicates, events.length);
    },
    read: (seriesId, startUs) => client.read(GATEWAY_NAMESPACE, seriesId, startUs, pageEvents),
    cpu: () => cpuSeconds(pid),
  };
}

function directTarget(ts: TimeSeriesBackend, pageEvents: number): Target {
  return {
    name: "direct",
    async write(seriesId, events) {
      const { written, duplicates } = await ts.write(DIRECT_NAMESPACE, seriesId, events, {
        settings: SETTINGS,
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      return checkWritten(written, duplicates, events.length);
    },
    async read(seriesId, startUs) {
      const page = await ts.read(DIRECT_NAMESPACE, seriesId, {
        settings: SETTINGS,
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
        startUs,
        endUs: BigInt(Date.now()) * 1000n,
        descending: false,
        tagFilter: {},
        limitEvents: pageEvents,
        limitBytes: PAGE_BYTES,
      });
      return page.events.length;
    },
    cpu: () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    },
  };
}

/** Every event of a batch is new: anything else means the bench wrote the wrong thing. */
function checkWritten(written: number, duplicates: number, sent: number): number {
  if (written !== sent) throw new Error(`a batch of ${sent} wrote ${written} (${duplicates} duplicates)`);
  return written;
}

/**
 * Writer `w` writes batch after batch of new events to its own series, times increasing 1 ms per
 * event: batch `n` holds positions `n*batch … (n+1)*batch-1`.
 */
async function writeWindow(
  options: TsBenchOptions,
  target: Target,
  series: Written[],
  batch: number,
): Promise<TsWindow> {
  const payloads = series.map(() => new Uint8Array(randomBytes(options.payloadBytes)));
  const tags = series.map((_, w) => [
    { writer: `w${w}`, parity: "even" },
    { writer: `w${w}`, parity: "odd" },
  ]);
  const call: TsCall = async (w, n) => {
    const s = series[w]!;
    const first = n * batch;
    const events: TsEvent[] = new Array(batch);
    for (let k = 0; k < batch; k++) {
      const position = first + k;
      events[k] = {
        eventTimeUs: BigInt(s.baseUs + position * STEP_US),
        eventId: `e${position}`,
        payload: payloads[w]!,
        tags: tags[w]![position % 2]!,
      };
    }
    const written = await target.write(s.seriesId, events);
    s.count = Math.max(s.count, first + batch);
    return written;
  };
  return measure(target, call, {
    workers: options.writers,
    warmupMs: options.warmupS * 1000,
    durationMs: options.durationS * 1000,
    maxEvents: options.maxWindowEvents,
  });
}

/** Pages of `pageEvents` from random positions in the series the target wrote. */
async function readWindow(options: TsBenchOptions, target: Target, written: Written[]): Promise<TsWindow> {
  const series = written.filter((s) => s.count > 0);
  if (series.length === 0) throw new Error(`${target.name} wrote nothing to read`);
  const call: TsCall = async () => {
    const s = series[Math.floor(Math.random() * series.length)]!;
    const position = Math.floor(Math.random() * Math.max(1, s.count - options.pageEvents));
    const events = await target.read(s.seriesId, BigInt(s.baseUs + position * STEP_US));
    if (events === 0) throw new Error("a page inside the written events came back empty");
    return events;
  };
  return measure(target, call, {
    workers: options.readConcurrency,
    warmupMs: options.warmupS * 1000,
    durationMs: options.durationS * 1000,
  });
}

async function measure(
  target: Target,
  call: TsCall,
  window: Parameters<typeof runTsWindow>[1],
): Promise<TsWindow> {
  let cpuStart: number | undefined;
  let cpuEnd: number | undefined;
  const result = await runTsWindow(call, window, {
    onMeasureStart: () => {
      cpuStart = target.cpu();
    },
    onMeasureEnd: () => {
      cpuEnd = target.cpu();
    },
  });
  return toWindow(result, cpuStart === undefined || cpuEnd === undefined ? undefined : cpuEnd - cpuStart);
}

function toWindow(result: TsWindowResult, cpuS: number | undefined): TsWindow {
  const seconds = result.elapsedMs / 1000;
  return {
    eventsPerSecond: seconds > 0 ? result.events / seconds : 0,
    events: result.events,
    elapsedMs: result.elapsedMs,
    latency: summarize(result.histogram),
    ...(cpuS !== undefined && result.events > 0
      ? { cpuMsPerThousand: (cpuS * 1000) / (result.events / 1000) }
      : {}),
    capped: result.capped,
    failures: Object.fromEntries(result.errors),
  };
}
