import { int, round, table } from "./format.js";
import type { LatencySummary } from "./histogram.js";

/** The write throughput the gateway must keep relative to the backend's own client. */
export const TS_WRITE_RATIO_GOAL = 0.8;
/** Events/s the gateway must write to PostgreSQL in batches of this size. */
export const TS_POSTGRES_GOAL = { batch: 1000, eventsPerSecond: 50_000 } as const;

/** One measured window of one target (the gateway, or the backend's client in the bench process). */
export interface TsWindow {
  /** Events written (or read) per second inside the window. */
  readonly eventsPerSecond: number;
  readonly events: number;
  readonly elapsedMs: number;
  /** Latency of one call (a batch written, a page read), µs. */
  readonly latency: LatencySummary;
  /**
   * CPU milliseconds per 1,000 events: of the gateway process for the gateway, of the bench process
   * (the backend's client plus event generation) for the direct baseline.
   */
  readonly cpuMsPerThousand?: number;
  /** True when the window ended at the event cap rather than after its duration. */
  readonly capped: boolean;
  readonly failures: Readonly<Record<string, number>>;
}

/** The write comparison at one batch size. */
export interface TsWriteComparison {
  readonly batch: number;
  /** Which target ran first (the order alternates between batch sizes and backends). */
  readonly first: "gateway" | "direct";
  readonly gateway: TsWindow;
  readonly direct: TsWindow;
}

/** Everything measured on one backend, or why it could not be. */
export interface TsBackendResult {
  readonly backend: string;
  readonly writes: readonly TsWriteComparison[];
  /** Pages of `pageEvents` events from random positions in what each target wrote. */
  readonly reads?: { readonly gateway: TsWindow; readonly direct: TsWindow };
  /** Set when the backend failed before it was measured (e.g. its server is down). */
  readonly error?: string;
}

export interface TsSettings {
  readonly backends: readonly string[];
  readonly batches: readonly number[];
  readonly writers: number;
  readonly payloadBytes: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly readConcurrency: number;
  readonly pageEvents: number;
  readonly maxWindowEvents: number;
  readonly cpus: number;
}

const ms = (us: number): string => (us / 1000).toFixed(2);
const cpu = (w: TsWindow): string => (w.cpuMsPerThousand === undefined ? "—" : w.cpuMsPerThousand.toFixed(1));
const rate = (w: TsWindow): string => `${int(w.eventsPerSecond)}${w.capped ? "*" : ""}`;

/** Gateway events/s divided by direct events/s (0 when direct wrote nothing). */
export function writeRatio(c: Pick<TsWriteComparison, "gateway" | "direct">): number {
  return c.direct.eventsPerSecond > 0 ? c.gateway.eventsPerSecond / c.direct.eventsPerSecond : 0;
}

/**
 * The opening lines of a run: what was measured and how.
 *
 * @example process.stdout.write(formatTsHeader(settings))
 */
export function formatTsHeader(s: TsSettings): string {
  return (
    `Prism bench ts: TimeSeries through the gateway vs the backend's own client in the bench process (direct).\n` +
    `Write: ${s.writers} writers, closed loop, batches of ${s.batches.map(int).join(" and ")} unique events ` +
    `(${s.payloadBytes} B payload, 2 tags, a series per writer), ${s.durationS} s after ${s.warmupS} s warm-up. ` +
    `Read: pages of ${int(s.pageEvents)} events from random positions in what each target wrote, ` +
    `${s.readConcurrency} concurrent, ${s.durationS} s. ${s.cpus} CPUs shared by the bench, the gateway and the servers.\n`
  );
}

/**
 * One backend's two tables (write, read) and any failures.
 *
 * @example process.stdout.write(formatTsBackend(result))
 */
export function formatTsBackend(r: TsBackendResult): string {
  const lines = [`── ${r.backend} ──`];
  if (r.error !== undefined) {
    lines.push(`NOT MEASURED: ${r.error}`);
    return `${lines.join("\n")}\n`;
  }
  if (r.writes.length > 0) {
    lines.push(
      ...table([
        [
          "write batch",
          "first",
          "gateway ev/s",
          "direct ev/s",
          "gw/direct",
          "gw batch p50 ms",
          "gw p99 ms",
          "direct p50 ms",
          "direct p99 ms",
          "gw CPU ms/1k ev",
          "bench CPU ms/1k ev (direct)",
        ],
        ...r.writes.map((c) => [
          int(c.batch),
          c.first,
          rate(c.gateway),
          rate(c.direct),
          `${writeRatio(c).toFixed(2)}×`,
          ms(c.gateway.latency.p50),
          ms(c.gateway.latency.p99),
          ms(c.direct.latency.p50),
          ms(c.direct.latency.p99),
          cpu(c.gateway),
          cpu(c.direct),
        ]),
      ]),
    );
  }
  if (r.reads) {
    lines.push("");
    lines.push(
      ...table([
        ["read (pages)", "pages/s", "events/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "CPU ms/1k ev"],
        ...(["gateway", "direct"] as const).map((target) => {
          const w = r.reads![target];
          const pagesPerSecond = w.elapsedMs > 0 ? (w.latency.count * 1000) / w.elapsedMs : 0;
          return [
            target,
            pagesPerSecond < 10 ? pagesPerSecond.toFixed(1) : int(pagesPerSecond),
            int(w.eventsPerSecond),
            ms(w.latency.p50),
            ms(w.latency.p90),
            ms(w.latency.p99),
            ms(w.latency.max),
            cpu(w),
          ];
        }),
      ]),
    );
  }
  const windows: [string, TsWindow][] = [
    ...r.writes.flatMap((c): [string, TsWindow][] => [
      [`write ${int(c.batch)} gateway`, c.gateway],
      [`write ${int(c.batch)} direct`, c.direct],
    ]),
    ...(r.reads
      ? ([
          ["read gateway", r.reads.gateway],
          ["read direct", r.reads.direct],
        ] as [string, TsWindow][])
      : []),
  ];
  if (windows.some(([, w]) => w.capped)) {
    lines.push("* the window ended at the event cap before its duration (the rate is still valid)");
  }
  for (const [label, w] of windows) {
    for (const [message, count] of Object.entries(w.failures)) {
      lines.push(`FAILED CALLS (${label}): ${count} × ${message}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** One goal's verdict line. */
export interface TsGoal {
  readonly met: boolean;
  readonly text: string;
  /** Shown, not judged: an in-process backend has no client to compare with (ADR-0020). */
  readonly informational?: true;
}

/** Backends the bench calls in-process as "direct": no client, so no ratio goal (ADR-0020). */
const IN_PROCESS: readonly string[] = ["memory", "sqlite"];

/**
 * The goals, judged (reported, never enforced): the gateway writes at ≥ 0.8× the direct
 * client per backend and batch size; PostgreSQL through the gateway ≥ 50,000 events/s in batches
 * of 1,000.
 *
 * @example tsGoals(results).map((g) => g.text)
 */
export function tsGoals(results: readonly TsBackendResult[]): TsGoal[] {
  const goals: TsGoal[] = [];
  for (const r of results) {
    for (const c of r.writes) {
      const ratio = writeRatio(c);
      const text = `${r.backend} batch ${int(c.batch)}: gateway ${ratio.toFixed(2)}× the direct write throughput`;
      goals.push(
        IN_PROCESS.includes(r.backend)
          ? {
              met: false,
              informational: true,
              text: `${text} (in-process direct: the price of the gRPC hop, ADR-0020)`,
            }
          : { met: ratio >= TS_WRITE_RATIO_GOAL, text: `${text} (goal ≥ ${TS_WRITE_RATIO_GOAL}×)` },
      );
    }
    const pg =
      r.backend === "postgres" ? r.writes.find((c) => c.batch === TS_POSTGRES_GOAL.batch) : undefined;
    if (pg) {
      goals.push({
        met: pg.gateway.eventsPerSecond >= TS_POSTGRES_GOAL.eventsPerSecond,
        text:
          `postgres batch ${int(TS_POSTGRES_GOAL.batch)} through the gateway: ${int(pg.gateway.eventsPerSecond)} events/s` +
          ` (goal ≥ ${int(TS_POSTGRES_GOAL.eventsPerSecond)})`,
      });
    }
  }
  return goals;
}

/**
 * The goal lines, PASS or BELOW GOAL each.
 *
 * @example process.stdout.write(formatTsGoals(results))
 */
export function formatTsGoals(results: readonly TsBackendResult[]): string {
  const goals = tsGoals(results);
  if (goals.length === 0) return "";
  const lines = ["goals (reported, not enforced):"];
  for (const goal of goals) {
    lines.push(
      `  ${goal.informational ? "REPORTED  " : goal.met ? "PASS      " : "BELOW GOAL"}  ${goal.text}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Every number of a run as one JSON line.
 *
 * @example console.log(formatTsJson(settings, results))
 */
export function formatTsJson(settings: TsSettings, results: readonly TsBackendResult[]): string {
  const out = {
    bench: "ts",
    settings,
    results: results.map((r) => ({
      ...r,
      writes: r.writes.map((c) => ({ ...c, ratio: writeRatio(c) })),
    })),
    goals: tsGoals(results),
  };
  return JSON.stringify(out, (_key, value) => (typeof value === "number" ? round(value, 3) : value));
}

/** Failed calls across every window, plus one for each backend that could not be measured. */
export function tsFailures(results: readonly TsBackendResult[]): number {
  const windows = results.flatMap((r) => [
    ...r.writes.flatMap((c) => [c.gateway, c.direct]),
    ...(r.reads ? [r.reads.gateway, r.reads.direct] : []),
  ]);
  return (
    results.filter((r) => r.error !== undefined).length +
    windows.reduce((sum, w) => sum + Object.values(w.failures).reduce((a, b) => a + b, 0), 0)
  );
}
