import { int, round, table } from "./format.js";
import type { LatencySummary } from "./histogram.js";
import type { LoopDelaySummary } from "./loop-delay.js";

/** One target of an open-loop (`--rate`) run, over all its measured windows. */
export interface RateTargetResult {
  readonly label: string;
  /** Every measured call of every round, µs from its scheduled time. */
  readonly latency: LatencySummary;
  /** p50 and p99 of each round on its own, µs: how much the rounds agree. */
  readonly rounds: readonly { readonly p50: number; readonly p99: number }[];
  /** µs the bench sent calls after their scheduled time (client lateness or the in-flight cap). */
  readonly sendLagP99: number;
  /** Completed calls per second inside the windows (should equal the rate). */
  readonly achievedRate: number;
  /** Server CPUs per 1,000 calls/s offered: CPU s / window s / (rate / 1000); absent in-process. */
  readonly cpuPerThousand?: number;
  /** Peak RSS (VmHWM) of the serving process, bytes; absent in-process. */
  readonly peakRssBytes?: number;
  /** The bench process's own CPUs per 1,000 calls/s (client, plus the pg driver for direct pg). */
  readonly clientCpuPerThousand: number;
  /** Event-loop delay of the serving process during the windows (when it was probed). */
  readonly loopDelay?: LoopDelaySummary;
  /** Calls scheduled in a window that never settled. */
  readonly unfinished: number;
  /** Failed calls, warm-up included, by message. */
  readonly failures: Readonly<Record<string, number>>;
}

/** The targets of a `--rate` run by role; postgres ones are absent with `--backend memory`. */
export interface RateTargets {
  readonly bare: RateTargetResult;
  readonly gatewayMemory: RateTargetResult;
  readonly gatewayPostgres?: RateTargetResult;
  readonly directPg?: RateTargetResult;
  /**
   * The bare grpc-js server answering from PostgreSQL with the backend's query: the ceiling of a
   * Node gRPC server in front of PostgreSQL, so `gatewayPostgres − barePostgres` is what the
   * gateway itself adds and `barePostgres − directPg` what the Node gRPC hop costs.
   */
  readonly barePostgres?: RateTargetResult;
}

/** What the run was. */
export interface RateSettings {
  readonly rate: number;
  readonly records: number;
  readonly valueBytes: number;
  readonly concurrency: number;
  readonly channels: number;
  readonly client: string;
  readonly rounds: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly loopResolutionMs: number;
  readonly cpus: number;
  readonly pgPoolSize?: number;
}

/** One goal of issue 7, judged. */
export interface Goal {
  readonly name: string;
  /** The measured value and the limit it must not exceed, in `unit`. */
  readonly value: number;
  readonly limit: number;
  readonly unit: "µs" | "CPU" | "MB";
  /** How the limit was derived, e.g. "1.2 × bare p99 (2,000 µs)". */
  readonly rule: string;
  readonly pass: boolean;
}

/** Gateway peak RSS bound, bytes (120 MB). */
export const RSS_GOAL_BYTES = 120e6;

/**
 * The goals of issue 7 that this run can judge (the postgres ones only when postgres ran). A goal
 * is reported, never enforced: the bench exits 0 either way.
 *
 * @example judgeGoals(targets).filter((g) => !g.pass)
 */
export function judgeGoals(t: RateTargets): Goal[] {
  const goals: Goal[] = [];
  const add = (name: string, value: number, limit: number, unit: Goal["unit"], rule: string) =>
    goals.push({ name, value, limit, unit, rule, pass: value <= limit });
  add(
    "gateway (memory) p99",
    t.gatewayMemory.latency.p99,
    1.2 * t.bare.latency.p99,
    "µs",
    `1.2 × bare p99 (${int(t.bare.latency.p99)} µs)`,
  );
  const bareCpu = t.bare.cpuPerThousand;
  const gatewayCpu = t.gatewayMemory.cpuPerThousand;
  if (bareCpu !== undefined && gatewayCpu !== undefined) {
    add(
      "gateway (memory) CPU per 1k calls/s",
      gatewayCpu,
      1.15 * bareCpu,
      "CPU",
      `1.15 × bare (${bareCpu.toFixed(3)})`,
    );
  }
  if (t.gatewayPostgres && t.directPg) {
    const g = t.gatewayPostgres.latency;
    const d = t.directPg.latency;
    add("gateway (postgres) p99", g.p99, d.p99 + 1000, "µs", `direct pg p99 (${int(d.p99)} µs) + 1 ms`);
    add("gateway (postgres) p50", g.p50, d.p50 + 300, "µs", `direct pg p50 (${int(d.p50)} µs) + 0.3 ms`);
  }
  const rss = Math.max(t.gatewayMemory.peakRssBytes ?? 0, t.gatewayPostgres?.peakRssBytes ?? 0);
  if (rss > 0) add("gateway peak RSS", rss / 1e6, RSS_GOAL_BYTES / 1e6, "MB", "120 MB");
  return goals;
}

/**
 * The human-readable report of a `--rate` run: one row per target, then the goals.
 *
 * @example process.stdout.write(formatRateReport(settings, targets))
 */
export function formatRateReport(s: RateSettings, targets: RateTargets): string {
  const lines = [
    `Prism bench kv --rate ${s.rate}: open loop, Get of ${s.records} records × ${s.valueBytes} B at ${int(s.rate)} calls/s` +
      ` scheduled at fixed times, at most ${s.concurrency} in flight over ${s.channels} ${s.client} connections;` +
      ` ${s.rounds} round(s) × ${s.durationS} s after ${s.warmupS} s warm-up per target, order alternating.`,
    `Latency (µs) counts from each call's scheduled time, all measured calls merged. ${s.cpus} CPUs shared by` +
      " client, servers and database. CPU/1k: server CPUs per 1,000 calls/s. Loop delay: event loop of the" +
      ` server, sampled every ${s.loopResolutionMs} ms (µs beyond the interval); GC: pauses per window, longest.`,
    "",
  ];
  const header = [
    "target",
    "p50",
    "p90",
    "p99",
    "p99.9",
    "max",
    "p50 / p99 by round",
    "calls/s",
    "CPU/1k",
    "peak RSS",
    "loop p50",
    "loop p99",
    "loop max",
    "GC",
    "send lag p99",
  ];
  const rows = [header];
  for (const t of present(targets)) {
    const d = t.loopDelay;
    rows.push([
      t.label,
      ...(["p50", "p90", "p99", "p999", "max"] as const).map((p) => int(t.latency[p])),
      t.rounds.map((r) => `${int(r.p50)}/${int(r.p99)}`).join(" "),
      int(t.achievedRate),
      t.cpuPerThousand === undefined ? "—" : t.cpuPerThousand.toFixed(3),
      t.peakRssBytes === undefined ? "—" : `${Math.round(t.peakRssBytes / 1e6)} MB`,
      d ? int(d.p50) : "—",
      d ? int(d.p99) : "—",
      d ? int(d.max) : "—",
      d ? `${d.gcPerWindow.toFixed(0)}, ${d.gcMaxMs.toFixed(1)} ms` : "—",
      int(t.sendLagP99),
    ]);
  }
  lines.push(...table(rows), "");
  const goals = judgeGoals(targets);
  lines.push("goals (issue 7; reported, not enforced):");
  lines.push(...formatGoals(goals));
  const { barePostgres: ceiling, gatewayPostgres: gateway, directPg: direct } = targets;
  if (ceiling && gateway && direct) {
    const added = (a: RateTargetResult, b: RateTargetResult) =>
      (["p50", "p99"] as const).map((p) => `${p} ${signed(a.latency[p] - b.latency[p])} µs`).join(", ");
    lines.push(
      `postgres hop split: the Node gRPC server itself (bare + pg − direct pg) ${added(ceiling, direct)};` +
        ` the gateway over that ceiling (gateway − bare + pg) ${added(gateway, ceiling)}`,
    );
  }
  const client = present(targets)
    .map((t) => `${t.label} ${t.clientCpuPerThousand.toFixed(3)}`)
    .join(", ");
  lines.push(`client (bench process) CPUs per 1k calls/s: ${client}`);
  for (const t of present(targets)) {
    if (t.unfinished > 0) lines.push(`UNFINISHED CALLS ${t.label}: ${t.unfinished}`);
    for (const [message, count] of Object.entries(t.failures)) {
      lines.push(`FAILED CALLS ${t.label}: ${count} × ${message}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * One line per goal: PASS or BELOW GOAL, the value and its limit.
 *
 * @example formatGoals(judgeGoals(targets))
 */
export function formatGoals(goals: readonly Goal[]): string[] {
  const value = (g: Goal, n: number) => `${g.unit === "CPU" ? n.toFixed(3) : int(n)} ${g.unit}`;
  return table(
    goals.map((g) => [
      `  ${g.pass ? "PASS      " : "BELOW GOAL"}  ${g.name}`,
      value(g, g.value),
      `≤ ${value(g, g.limit)}`,
      `(${g.rule})`,
    ]),
  );
}

/**
 * Every number of a `--rate` run as one JSON line.
 *
 * @example console.log(formatRateJson(settings, targets))
 */
export function formatRateJson(settings: RateSettings, targets: RateTargets): string {
  const out = { bench: "kv", mode: "rate", settings, targets, goals: judgeGoals(targets) };
  return JSON.stringify(out, (_key, value) => (typeof value === "number" ? round(value, 3) : value));
}

/** Failed or unfinished calls across every target. */
export function rateFailures(targets: RateTargets): number {
  let failed = 0;
  for (const t of present(targets)) {
    failed += t.unfinished;
    for (const n of Object.values(t.failures)) failed += n;
  }
  return failed;
}

function present(targets: RateTargets): RateTargetResult[] {
  return [
    targets.bare,
    targets.gatewayMemory,
    targets.barePostgres,
    targets.gatewayPostgres,
    targets.directPg,
  ].filter((t): t is RateTargetResult => t !== undefined);
}

function signed(value: number): string {
  return `${value >= 0 ? "+" : "−"}${int(Math.abs(value))}`;
}
