import type { EngineResult, SecondSample } from "./engine.js";
import { errorTotal } from "./engine.js";
import { type LatencyMs, latencyMs } from "./histogram.js";
import type { PreloadSummary } from "./preload.js";

/** One operation in result.json. */
export interface OperationResult {
  /** Requests scheduled in the measured window. */
  scheduled: number;
  /** Completed requests (ok + errors). */
  count: number;
  ok: number;
  /** Failed requests by gRPC code name. */
  errors: Record<string, number>;
  /** Scheduled but not issued: `maxInFlight` requests were in flight. */
  notIssued: number;
  /** Still in flight when the drain gave up. */
  unfinished: number;
  /** Offered and achieved (ok) requests per second. */
  offeredRate: number;
  throughput: number;
  /** From each request's scheduled start to its completion (ok requests only). */
  latencyMs: LatencyMs;
}

/** result.json of `pnpm loadtest` (its shape is what `--baseline` reads). */
export interface LoadtestResult {
  version: 1;
  scenario: string;
  startedAt: string;
  target: string;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  maxInFlight: number;
  /** Total requests per second offered, and completed without error. */
  offeredRate: number;
  achievedRate: number;
  preload: PreloadSummary;
  operations: Record<string, OperationResult>;
  /** Per second of the window and operation: completions and latency percentiles. */
  timeline: SecondSample[];
  /** A sample message per error code (the first seen), to tell a misconfiguration apart. */
  errorSamples: Record<string, string>;
}

/** What a result is made from besides the engine's run. */
export interface ResultContext {
  scenario: string;
  startedAt: Date;
  target: string;
  rate: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  maxInFlight: number;
  preload: PreloadSummary;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The JSON result of a run.
 *
 * @example const result = buildResult(await runMix(ops, options), context)
 */
export function buildResult(run: EngineResult, context: ResultContext): LoadtestResult {
  const seconds = run.elapsedMs / 1000;
  const operations: Record<string, OperationResult> = {};
  let ok = 0;
  for (const outcome of run.operations) {
    ok += outcome.ok;
    operations[outcome.name] = {
      scheduled: outcome.scheduled,
      count: outcome.ok + errorTotal(outcome.errors),
      ok: outcome.ok,
      errors: outcome.errors,
      notIssued: outcome.notIssued,
      unfinished: outcome.unfinished,
      offeredRate: round(outcome.scheduled / seconds),
      throughput: round(outcome.ok / seconds),
      latencyMs: latencyMs(outcome.histogram),
    };
  }
  return {
    version: 1,
    scenario: context.scenario,
    startedAt: context.startedAt.toISOString(),
    target: context.target,
    durationSeconds: context.durationSeconds,
    warmupSeconds: context.warmupSeconds,
    connections: context.connections,
    maxInFlight: context.maxInFlight,
    offeredRate: context.rate,
    achievedRate: round(ok / seconds),
    preload: context.preload,
    operations,
    timeline: run.timeline,
    errorSamples: run.errorSamples,
  };
}

/**
 * Rows of text with columns padded: the first left-aligned, the others right-aligned.
 *
 * @example table([["op", "n"], ["kv.get", "10"]])
 */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows
    .map((row) =>
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "),
    )
    .join("\n");
}

/**
 * The readable summary printed on stdout: one row per operation, then totals and error samples.
 *
 * @example process.stdout.write(formatResult(result))
 */
export function formatResult(result: LoadtestResult): string {
  const header = ["operation", "count", "ok/s", "errors", "not issued", "p50", "p90", "p99", "p99.9", "max"];
  const rows = Object.entries(result.operations).map(([name, op]) => [
    name,
    String(op.count),
    op.throughput.toFixed(1),
    formatErrors(op.errors),
    String(op.notIssued),
    ...[op.latencyMs.p50, op.latencyMs.p90, op.latencyMs.p99, op.latencyMs.p999, op.latencyMs.max].map((ms) =>
      ms.toFixed(2),
    ),
  ]);
  const lines = [
    `scenario ${result.scenario} against ${result.target}: ${result.durationSeconds} s after ${result.warmupSeconds} s warm-up, ${result.connections} connection(s)`,
    `offered ${result.offeredRate}/s, achieved ${result.achievedRate}/s (latency in ms from each request's scheduled start)`,
    "",
    table([header, ...rows]),
  ];
  for (const [code, message] of Object.entries(result.errorSamples)) lines.push(`  ${code}: e.g. ${message}`);
  return `${lines.join("\n")}\n`;
}

function formatErrors(errors: Record<string, number>): string {
  const entries = Object.entries(errors);
  return entries.length === 0 ? "0" : entries.map(([code, n]) => `${code}=${n}`).join(",");
}
