import { int, round, table } from "./format.js";
import { median, type TargetResult } from "./report.js";

/**
 * Issue 11's goal for `dual-write`, against the same primary with no shadow measured in the same
 * run: p99 at most 0.5 ms higher and throughput at least 0.9×, for Put and for Get.
 */
export const SHADOW_GOAL = { maxP99AddedMs: 0.5, minThroughputRatio: 0.9 } as const;

/** The three gateways of a `--shadow` run: no shadow (the baseline), dual-write, shadow-read. */
export type ShadowVariantKey = "off" | "dual-write" | "shadow-read";

export const SHADOW_OPS = ["put", "get"] as const;
export type ShadowOp = (typeof SHADOW_OPS)[number];

/** GetShadowStatus totals (all uint64 in the proto) after a variant's last window. */
export interface ShadowCountersResult {
  readonly writesOk: number;
  readonly writesFailed: number;
  /** Mirrored writes the full queue refused: the shadow could not keep up. */
  readonly writesDropped: number;
  readonly readsMatched: number;
  readonly readsMismatched: number;
  /** Sampled reads not compared (too many comparisons running, or the shadow did not answer). */
  readonly readsSkipped: number;
  /** Writes still queued when the bench stopped waiting (0 = drained). */
  readonly queueDepth: number;
}

/** One gateway's Put and Get windows, and its shadow's counters. */
export interface ShadowVariantResult {
  readonly key: ShadowVariantKey;
  readonly label: string;
  readonly put: TargetResult;
  readonly get: TargetResult;
  /** Absent for the baseline (no shadow). */
  readonly counters?: ShadowCountersResult;
  /** Seconds spent after its Put windows waiting for the mirror queue to empty (not measured). */
  readonly drainSeconds?: number;
}

/** A backfill of a primary namespace into its new shadow, as the job reported it. */
export interface BackfillResult {
  readonly primary: string;
  readonly shadow: string;
  readonly records: number;
  readonly valueBytes: number;
  /** How the primary got its records, and how long that took. */
  readonly load: { readonly how: "bulk insert" | "gateway Put" | "reused"; readonly seconds: number };
  readonly maxRecordsPerSecond: number;
  readonly maxBytesPerSecond: number;
  /** `succeeded`, `failed`, `cancelled` (or `running` when the bench gave up waiting). */
  readonly state: string;
  readonly error?: string;
  readonly recordsCopied: number;
  readonly bytesCopied: number;
  /** The job's start to its last update (counting pass included), seconds. */
  readonly elapsedS: number;
  /** The rate the job itself last reported (its copy phase, over its last second or so). */
  readonly jobRecordsPerSecond: number;
  readonly jobBytesPerSecond: number;
}

export interface ShadowSettings {
  readonly primary: string;
  readonly shadow: string;
  readonly records: number;
  readonly valueBytes: number;
  readonly concurrency: number;
  readonly channels: number;
  readonly rounds: number;
  readonly client: string;
  readonly durationS: number;
  readonly warmupS: number;
  readonly cpus: number;
  /** Open loop at this many calls/s (latency counted from each call's schedule); absent: closed loop. */
  readonly rate?: number;
}

/** A variant against the baseline on one call. */
export interface ShadowDelta {
  /** Median of the per-round throughput ratios (each round's windows ran close together). */
  readonly ratio: number;
  readonly roundRatios: readonly number[];
  readonly p50AddedMs: number;
  readonly p99AddedMs: number;
}

/**
 * `variant` against `baseline`: throughput ratio per round and its median, added p50/p99 in ms.
 *
 * @example shadowDelta(dualWrite.put, off.put).p99AddedMs // 0.31
 */
export function shadowDelta(variant: TargetResult, baseline: TargetResult): ShadowDelta {
  const roundRatios = variant.roundThroughputs.map((v, i) => {
    const b = baseline.roundThroughputs[i] ?? 0;
    return b > 0 ? v / b : 0;
  });
  return {
    ratio: median(roundRatios),
    roundRatios,
    p50AddedMs: (variant.latency.p50 - baseline.latency.p50) / 1000,
    p99AddedMs: (variant.latency.p99 - baseline.latency.p99) / 1000,
  };
}

/**
 * Whether one call meets {@link SHADOW_GOAL}.
 *
 * @example meetsShadowGoal({ ratio: 0.95, p99AddedMs: 0.2, … }) // true
 */
export function meetsShadowGoal(delta: Pick<ShadowDelta, "ratio" | "p99AddedMs">): boolean {
  return delta.ratio >= SHADOW_GOAL.minThroughputRatio && delta.p99AddedMs <= SHADOW_GOAL.maxP99AddedMs;
}

/** Rows per second and MB (10⁶ bytes) per second of a backfill, over its whole run. */
export function backfillRates(b: BackfillResult): { rowsPerSecond: number; mbPerSecond: number } {
  if (b.elapsedS <= 0) return { rowsPerSecond: 0, mbPerSecond: 0 };
  return { rowsPerSecond: b.recordsCopied / b.elapsedS, mbPerSecond: b.bytesCopied / b.elapsedS / 1e6 };
}

const ms = (us: number): string => (us / 1000).toFixed(2);
const signedMs = (n: number): string => `${n >= 0 ? "+" : "−"}${Math.abs(n).toFixed(2)}`;
const mb = (bytes: number): string => (bytes / 1e6).toFixed(2);

/**
 * The human-readable report of `pnpm bench kv --shadow`: Put and Get per variant with the ratio
 * and added p99 against no shadow, the dual-write verdict, each shadow's counters, the backfill.
 *
 * @example process.stdout.write(formatShadowReport(settings, variants, backfill))
 */
export function formatShadowReport(
  s: ShadowSettings,
  variants: readonly ShadowVariantResult[],
  backfill?: BackfillResult,
): string {
  const lines = [
    `Prism bench kv --shadow: primary ${s.primary}, shadow ${s.shadow}; Put and Get of ${int(s.records)} records × ${s.valueBytes} B;` +
      (s.rate === undefined
        ? ` ${s.concurrency} calls in flight over ${s.channels} connections (Get: ${s.client}, Put: h2);`
        : ` open loop at ${int(s.rate)} calls/s (at most ${s.concurrency} in flight), latency from each call's schedule;`) +
      ` ${s.rounds} round(s) × ${s.durationS} s measured after ${s.warmupS} s warm-up per gateway and call.`,
    `A fresh gateway per variant, the same primary; variants in turn, the order reversed every other round;` +
      ` after a Put window the next waits until the mirror queue is empty. ${s.cpus} CPUs shared by the bench,` +
      " the gateways and the servers. req/s: median of rounds; latency (ms): all measured calls merged.",
  ];
  const off = variants.find((v) => v.key === "off");
  for (const op of SHADOW_OPS) {
    const header = [
      op === "put" ? "Put" : "Get",
      "req/s",
      "rounds",
      "p50 ms",
      "p99 ms",
      "p99.9 ms",
      "max ms",
    ];
    const rows = variants.map((v) => {
      const t = v[op];
      const delta = off && v !== off ? shadowDelta(t, off[op]) : undefined;
      return [
        `  ${v.label}`,
        int(t.throughput),
        t.roundThroughputs.map(int).join(" "),
        ms(t.latency.p50),
        ms(t.latency.p99),
        ms(t.latency.p999),
        ms(t.latency.max),
        delta ? `${delta.ratio.toFixed(2)}×` : "—",
        delta ? signedMs(delta.p99AddedMs) : "—",
        delta ? signedMs(delta.p50AddedMs) : "—",
      ];
    });
    lines.push("", ...table([[...header, "vs off", "p99 added", "p50 added"], ...rows]));
  }
  const verdict = dualWriteVerdict(variants);
  if (verdict) {
    const parts = SHADOW_OPS.map((op) => {
      const d = verdict[op];
      return `${op === "put" ? "Put" : "Get"} ${meetsShadowGoal(d) ? "PASS" : "MISS"} (${d.ratio.toFixed(2)}×, p99 ${signedMs(d.p99AddedMs)} ms)`;
    });
    lines.push(
      "",
      `goal, dual-write vs shadow off (p99 added ≤ ${SHADOW_GOAL.maxP99AddedMs} ms, throughput ≥ ${SHADOW_GOAL.minThroughputRatio.toFixed(2)}×):` +
        ` ${parts.join(", ")}  →  ${verdict.pass ? "PASS" : "MISS"}`,
    );
  }
  lines.push(...formatCounters(variants));
  for (const v of variants) {
    for (const op of SHADOW_OPS) {
      for (const [message, count] of Object.entries(v[op].failures)) {
        lines.push(`FAILED CALLS ${v.label} ${op}: ${count} × ${message}`);
      }
    }
  }
  if (backfill) lines.push("", ...formatBackfill(backfill));
  return `${lines.join("\n")}\n`;
}

function formatCounters(variants: readonly ShadowVariantResult[]): string[] {
  const shadowed = variants.filter((v) => v.counters);
  if (shadowed.length === 0) return [];
  const header = ["shadow counters", "writes ok", "failed", "dropped", "matched", "mismatched", "skipped"];
  const rows = shadowed.map((v) => {
    const c = v.counters!;
    return [
      `  ${v.label}`,
      ...[c.writesOk, c.writesFailed, c.writesDropped, c.readsMatched, c.readsMismatched, c.readsSkipped].map(
        int,
      ),
      c.queueDepth > 0 ? `${int(c.queueDepth)} still queued` : "",
      v.drainSeconds === undefined ? "" : `drain waits ${v.drainSeconds.toFixed(1)} s`,
    ];
  });
  const lines = [
    "",
    "(GetShadowStatus totals at the end of each variant, warm-up and preload included; matched…skipped: compared Gets)",
    ...table([[...header, "", ""], ...rows]),
  ];
  for (const v of shadowed) {
    const c = v.counters!;
    if (c.writesDropped > 0) {
      lines.push(`DROPPED: ${v.label} dropped ${int(c.writesDropped)} mirrored writes (its queue was full)`);
    }
    if (c.writesFailed > 0) lines.push(`FAILED MIRRORED WRITES: ${v.label}: ${int(c.writesFailed)}`);
    if (c.readsMismatched > 0) lines.push(`MISMATCHED READS: ${v.label}: ${int(c.readsMismatched)}`);
  }
  return lines;
}

function formatBackfill(b: BackfillResult): string[] {
  const { rowsPerSecond, mbPerSecond } = backfillRates(b);
  const lines = [
    `backfill ${b.primary} → ${b.shadow}: ${int(b.records)} records × ${b.valueBytes} B` +
      ` (primary ${b.load.how === "reused" ? "reused from an earlier run" : `loaded by ${b.load.how}`}, ${b.load.seconds.toFixed(1)} s);` +
      ` StartBackfill with at most ${int(b.maxRecordsPerSecond)} records/s and ${int(b.maxBytesPerSecond / 2 ** 20)} MiB/s`,
    `  ${b.state}: ${int(b.recordsCopied)} records, ${mb(b.bytesCopied)} MB in ${b.elapsedS.toFixed(2)} s` +
      ` (job start to end, counting pass included): ${int(rowsPerSecond)} rows/s, ${mbPerSecond.toFixed(2)} MB/s`,
    b.jobRecordsPerSecond > 0
      ? `  the job's own last reported rate: ${int(b.jobRecordsPerSecond)} rows/s, ${mb(b.jobBytesPerSecond)} MB/s`
      : "  the job reported no rate of its own (it computes one after each second of copying)",
  ];
  if (b.state !== "succeeded") {
    lines.push(`BACKFILL ${b.state.toUpperCase()}${b.error ? `: ${b.error}` : ""}`);
  }
  return lines;
}

/** Dual-write against no shadow on both calls, and whether both meet the goal; absent without both. */
function dualWriteVerdict(
  variants: readonly ShadowVariantResult[],
): (Record<ShadowOp, ShadowDelta> & { pass: boolean }) | undefined {
  const off = variants.find((v) => v.key === "off");
  const dual = variants.find((v) => v.key === "dual-write");
  if (!off || !dual) return undefined;
  const put = shadowDelta(dual.put, off.put);
  const get = shadowDelta(dual.get, off.get);
  return { put, get, pass: meetsShadowGoal(put) && meetsShadowGoal(get) };
}

/**
 * Every number of a `--shadow` run as one JSON line.
 *
 * @example console.log(formatShadowJson(settings, variants, backfill))
 */
export function formatShadowJson(
  settings: ShadowSettings,
  variants: readonly ShadowVariantResult[],
  backfill?: BackfillResult,
): string {
  const off = variants.find((v) => v.key === "off");
  const vsOff: Record<string, Record<ShadowOp, ShadowDelta>> = {};
  for (const v of variants) {
    if (off && v !== off)
      vsOff[v.key] = { put: shadowDelta(v.put, off.put), get: shadowDelta(v.get, off.get) };
  }
  const verdict = dualWriteVerdict(variants);
  const out = {
    bench: "kv",
    mode: "shadow",
    settings,
    variants: Object.fromEntries(variants.map((v) => [v.key, v])),
    vsOff,
    ...(verdict && {
      goal: {
        ...SHADOW_GOAL,
        put: meetsShadowGoal(verdict.put),
        get: meetsShadowGoal(verdict.get),
        pass: verdict.pass,
      },
    }),
    ...(backfill && { backfill: { ...backfill, ...backfillRates(backfill) } }),
  };
  return JSON.stringify(out, (_key, value) => (typeof value === "number" ? round(value, 3) : value));
}

/** Failed calls of every window, plus one for a backfill that did not succeed. */
export function shadowFailures(variants: readonly ShadowVariantResult[], backfill?: BackfillResult): number {
  let failed = backfill && backfill.state !== "succeeded" ? 1 : 0;
  for (const v of variants) {
    for (const op of SHADOW_OPS) for (const n of Object.values(v[op].failures)) failed += n;
  }
  return failed;
}
