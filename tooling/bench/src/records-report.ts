import { int, round, table } from "./format.js";
import type { LatencySummary } from "./histogram.js";

/** One namespace size of a `--records` run. */
export interface RecordsResult {
  readonly records: number;
  /** How the records got there, and how long it took (or took to check, when reused). */
  readonly preload: {
    readonly how: "gateway Put" | "backend put" | "bulk insert" | "reused";
    readonly seconds: number;
  };
  /** `Get` of random records at the fixed rate, µs from each call's scheduled time. */
  readonly latency: LatencySummary;
  readonly cpuPerThousand?: number;
  readonly peakRssBytes?: number;
  readonly unfinished: number;
  readonly failures: Readonly<Record<string, number>>;
}

export interface RecordsSettings {
  readonly backend: string;
  readonly valueBytes: number;
  readonly rate: number;
  readonly concurrency: number;
  readonly channels: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly cpus: number;
}

/**
 * Each size's p50 divided by the p50 at the smallest size (issue 7 wants all within 1.5×).
 *
 * @example p50Ratios([{ records: 1000, p50: 400 }, { records: 1e6, p50: 600 }]) // [1, 1.5]
 */
export function p50Ratios(results: readonly { records: number; latency: { p50: number } }[]): number[] {
  if (results.length === 0) return [];
  const smallest = results.reduce((a, b) => (b.records < a.records ? b : a));
  return results.map((r) => r.latency.p50 / smallest.latency.p50);
}

/**
 * The human-readable report of a `--records` run.
 *
 * @example process.stdout.write(formatRecordsReport(settings, results))
 */
export function formatRecordsReport(s: RecordsSettings, results: readonly RecordsResult[]): string {
  const ratios = p50Ratios(results);
  const rows = [
    ["records", "loaded by", "load s", "p50", "p90", "p99", "max", "CPU/1k", "peak RSS", "p50 / smallest"],
    ...results.map((r, i) => [
      int(r.records),
      r.preload.how,
      r.preload.seconds.toFixed(1),
      ...(["p50", "p90", "p99", "max"] as const).map((p) => int(r.latency[p])),
      r.cpuPerThousand === undefined ? "—" : r.cpuPerThousand.toFixed(3),
      r.peakRssBytes === undefined ? "—" : `${Math.round(r.peakRssBytes / 1e6)} MB`,
      `${ratios[i]!.toFixed(2)}×`,
    ]),
  ];
  const lines = [
    `Prism bench kv --records, ${s.backend} backend: Get of random one-item records (${s.valueBytes} B) at` +
      ` ${int(s.rate)} calls/s, at most ${s.concurrency} in flight over ${s.channels} connections,` +
      ` ${s.durationS} s after ${s.warmupS} s warm-up; a fresh gateway per size. Latency µs from the scheduled time.`,
    "",
    ...table(rows),
  ];
  for (const r of results) {
    if (r.unfinished > 0) lines.push(`UNFINISHED CALLS at ${int(r.records)}: ${r.unfinished}`);
    for (const [message, count] of Object.entries(r.failures)) {
      lines.push(`FAILED CALLS at ${int(r.records)}: ${count} × ${message}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Every number of a `--records` run as one JSON line.
 *
 * @example console.log(formatRecordsJson(settings, results))
 */
export function formatRecordsJson(settings: RecordsSettings, results: readonly RecordsResult[]): string {
  const ratios = p50Ratios(results);
  const out = {
    bench: "kv",
    mode: "records",
    settings,
    results: results.map((r, i) => ({ ...r, p50Ratio: ratios[i] })),
  };
  return JSON.stringify(out, (_key, value) => (typeof value === "number" ? round(value, 3) : value));
}

/** Failed or unfinished calls across every size. */
export function recordsFailures(results: readonly RecordsResult[]): number {
  return results.reduce(
    (sum, r) => sum + r.unfinished + Object.values(r.failures).reduce((a, b) => a + b, 0),
    0,
  );
}
