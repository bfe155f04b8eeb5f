import { int, round, table } from "./format.js";
import type { LatencySummary } from "./histogram.js";

/** One target's measurements over all rounds. */
export interface TargetResult {
  readonly label: string;
  /** Completed calls per second, each measured window. */
  readonly roundThroughputs: readonly number[];
  /** Median of `roundThroughputs`. */
  readonly throughput: number;
  /** Every measured call of every round. */
  readonly latency: LatencySummary;
  /** Server process CPU seconds per measured window (mean); absent for an in-process baseline. */
  readonly serverCpuSeconds?: number;
  /** Seconds per measured window the server's main thread waited for a CPU (mean). */
  readonly serverWaitSeconds?: number;
  /** Server CPU time per completed call, µs. */
  readonly serverCpuUsPerCall?: number;
  /** The server process's peak RSS (VmHWM), bytes. */
  readonly peakRssBytes?: number;
  /** The bench process's own CPU seconds per measured window (mean): client load, plus pg for direct. */
  readonly clientCpuSeconds: number;
  /** Seconds per measured window the bench's main thread waited for a CPU (mean). */
  readonly clientWaitSeconds?: number;
  /** Failed calls, warm-up included, by message. */
  readonly failures: Readonly<Record<string, number>>;
}

/** The gateway against its ceiling on one backend. */
export interface Comparison {
  readonly title: string;
  readonly baseline: TargetResult;
  readonly gateway: TargetResult;
  /** Throughput ratio the gateway should reach; printed as PASS / BELOW GOAL, never fatal. */
  readonly goal?: number;
}

/** What the run was. */
export interface BenchSettings {
  readonly records: number;
  readonly valueBytes: number;
  readonly concurrency: number;
  readonly channels: number;
  readonly rounds: number;
  readonly client: string;
  readonly durationS: number;
  readonly warmupS: number;
  readonly cpus: number;
  readonly pgPoolSize?: number;
}

const PERCENTILES = ["p50", "p90", "p99", "p999"] as const;

/**
 * The human-readable report: one table per comparison, ratio and added latency under each.
 *
 * @example process.stdout.write(formatReport(settings, { memory }))
 */
export function formatReport(settings: BenchSettings, comparisons: Record<string, Comparison>): string {
  const s = settings;
  const lines = [
    `Prism bench kv: Get of ${s.records} records × ${s.valueBytes} B; ${s.concurrency} calls in flight` +
      ` over ${s.channels} ${s.client} connections; ${s.rounds} round(s) × ${s.durationS} s measured after ${s.warmupS} s warm-up,` +
      " baseline and gateway alternating (ABBA)",
    `${s.cpus} CPUs shared by the client (this process), the servers and any database.` +
      " req/s: median of rounds; latency (µs): all measured calls merged;" +
      " CPU s / CPU wait s: server CPU used / time its main thread waited for a CPU, per window.",
  ];
  for (const comparison of Object.values(comparisons)) lines.push("", ...formatComparison(comparison));
  return `${lines.join("\n")}\n`;
}

function formatComparison({ title, baseline, gateway, goal }: Comparison): string[] {
  const header = [
    title,
    "req/s",
    "rounds",
    "p50",
    "p90",
    "p99",
    "p99.9",
    "max",
    "CPU s",
    "CPU µs/call",
    "CPU wait s",
    "peak RSS",
  ];
  const row = (t: TargetResult) => [
    `  ${t.label}`,
    int(t.throughput),
    t.roundThroughputs.map(int).join(" "),
    ...PERCENTILES.map((p) => int(t.latency[p])),
    int(t.latency.max),
    t.serverCpuSeconds === undefined ? "—" : t.serverCpuSeconds.toFixed(2),
    t.serverCpuUsPerCall === undefined ? "—" : t.serverCpuUsPerCall.toFixed(1),
    t.serverWaitSeconds === undefined ? "—" : t.serverWaitSeconds.toFixed(2),
    t.peakRssBytes === undefined ? "—" : `${Math.round(t.peakRssBytes / 2 ** 20)} MiB`,
  ];
  const added = [
    "  added by the gateway",
    "",
    "",
    ...PERCENTILES.map((p) => signed(delta(gateway, baseline, p))),
  ];
  const lines = table([header, row(baseline), row(gateway), added]);
  const r = throughputRatio(gateway, baseline);
  const verdict =
    goal === undefined ? "" : `  ${r.median >= goal ? "PASS" : "BELOW GOAL"} (goal ≥ ${goal.toFixed(2)})`;
  lines.push(
    `  throughput gateway / ${baseline.label}: ${r.median.toFixed(2)}${verdict}` +
      `  (median of rounds, each measured back to back: ${r.perRound.map((x) => x.toFixed(2)).join(" ")})`,
  );
  const cpu = cpuRatio(gateway, baseline);
  if (cpu !== undefined) {
    lines.push(
      `  server CPU per call ${baseline.label} / gateway: ${cpu.toFixed(2)}` +
        " (the throughput ratio if each server had its own cores)",
    );
  }
  lines.push(
    `  added latency: p50 ${signed(delta(gateway, baseline, "p50"))} µs, p99 ${signed(delta(gateway, baseline, "p99"))} µs`,
  );
  const client = (t: TargetResult) =>
    `${t.label} ${t.clientCpuSeconds.toFixed(2)}` +
    (t.clientWaitSeconds === undefined ? "" : ` (waited ${t.clientWaitSeconds.toFixed(2)})`);
  lines.push(`  client (bench process) CPU s per window: ${client(baseline)}, ${client(gateway)}`);
  for (const t of [baseline, gateway]) {
    for (const [message, count] of Object.entries(t.failures)) {
      lines.push(`  FAILED CALLS ${t.label}: ${count} × ${message}`);
    }
  }
  return lines;
}

/**
 * Every number of the run as one JSON line, for CI logs and notes.
 *
 * @example console.log(formatJson(settings, { memory }))
 */
export function formatJson(settings: BenchSettings, comparisons: Record<string, Comparison>): string {
  const out: Record<string, unknown> = { bench: "kv", settings };
  for (const [name, c] of Object.entries(comparisons)) {
    const r = throughputRatio(c.gateway, c.baseline);
    out[name] = {
      baseline: c.baseline,
      gateway: c.gateway,
      ratio: r.median,
      roundRatios: r.perRound,
      cpuPerCallRatio: cpuRatio(c.gateway, c.baseline),
      addedUs: Object.fromEntries(PERCENTILES.map((p) => [p, delta(c.gateway, c.baseline, p)])),
      ...(c.goal === undefined ? {} : { goal: c.goal, pass: r.median >= c.goal }),
    };
  }
  return JSON.stringify(out, (_key, value) => (typeof value === "number" ? round(value, 3) : value));
}

/** Failed calls across every target of every comparison. */
export function failedCalls(comparisons: Record<string, Comparison>): number {
  let failed = 0;
  for (const c of Object.values(comparisons)) {
    for (const t of [c.baseline, c.gateway]) for (const n of Object.values(t.failures)) failed += n;
  }
  return failed;
}

/**
 * Gateway / baseline throughput of each round (the two ran back to back, so load from outside
 * the bench drifts less within a pair than across rounds), and their median.
 */
function throughputRatio(
  gateway: TargetResult,
  baseline: TargetResult,
): { median: number; perRound: number[] } {
  const perRound = gateway.roundThroughputs.map((g, i) => {
    const b = baseline.roundThroughputs[i] ?? 0;
    return b > 0 ? g / b : 0;
  });
  return { median: median(perRound), perRound };
}

function cpuRatio(gateway: TargetResult, baseline: TargetResult): number | undefined {
  const g = gateway.serverCpuUsPerCall;
  const b = baseline.serverCpuUsPerCall;
  return g === undefined || b === undefined || g === 0 ? undefined : b / g;
}

/**
 * The middle value (mean of the two middle ones for an even count).
 *
 * @example median([3, 1, 2]) // 2
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function delta(gateway: TargetResult, baseline: TargetResult, p: (typeof PERCENTILES)[number]): number {
  return gateway.latency[p] - baseline.latency[p];
}

const signed = (n: number): string => (n >= 0 ? `+${int(n)}` : `−${int(-n)}`);
