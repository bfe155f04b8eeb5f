import { type Histogram, mergeHistograms, summarize } from "./histogram.js";
import { type IssueCall, type LoadOptions, runClosedLoop } from "./load.js";
import { runOpenLoop } from "./open-loop.js";
import { cpuSeconds, peakRssBytes, runQueueSeconds } from "./proc-stats.js";
import { median, type TargetResult } from "./report.js";

/** Something to drive load against. */
export interface Target {
  readonly label: string;
  readonly issue: IssueCall;
  /** The process that serves it, for CPU and RSS; absent when it runs in the bench process. */
  readonly pid?: number;
  close(): void | Promise<void>;
}

/** What one measured window of one target saw. */
export interface Round {
  readonly histogram: Histogram;
  readonly throughput: number;
  readonly serverCpuSeconds?: number;
  readonly serverWaitSeconds?: number;
  readonly clientCpuSeconds: number;
  readonly clientWaitSeconds?: number;
  readonly errors: ReadonlyMap<string, number>;
}

/**
 * One warm-up plus measured window against `target` (closed loop, or open loop at `rate` calls/s),
 * with the server's and the bench's CPU time
 * and run-queue wait read at the window's edges.
 *
 * @example rounds.push(await measureRound(target, { concurrency: 32, warmupMs: 3000, durationMs: 10_000 }))
 */
export async function measureRound(target: Target, load: LoadOptions, rate?: number): Promise<Round> {
  const read = () => ({
    serverCpu: target.pid === undefined ? undefined : cpuSeconds(target.pid),
    serverWait: target.pid === undefined ? undefined : runQueueSeconds(target.pid),
    clientCpu: process.cpuUsage(),
    clientWait: runQueueSeconds(process.pid),
  });
  let start = read();
  let end = start;
  // With a rate: open loop, calls scheduled at fixed times (latency counted from the schedule).
  const run =
    rate === undefined
      ? runClosedLoop
      : (issue: IssueCall, options: LoadOptions, hooks: object) =>
          runOpenLoop(issue, { ...options, rate }, hooks);
  const result = await run(target.issue, load, {
    onMeasureStart: () => {
      start = read();
    },
    onMeasureEnd: () => {
      end = read();
    },
  });
  const clientMicros = (usage: NodeJS.CpuUsage) => usage.user + usage.system;
  return {
    histogram: result.histogram,
    throughput: result.throughput,
    ...optional("serverCpuSeconds", difference(start.serverCpu, end.serverCpu)),
    ...optional("serverWaitSeconds", difference(start.serverWait, end.serverWait)),
    clientCpuSeconds: (clientMicros(end.clientCpu) - clientMicros(start.clientCpu)) / 1e6,
    ...optional("clientWaitSeconds", difference(start.clientWait, end.clientWait)),
    errors: result.errors,
  };
}

function difference(before: number | undefined, after: number | undefined): number | undefined {
  return before === undefined || after === undefined ? undefined : after - before;
}

/** `{ [key]: value }`, or nothing when the value is unknown (exactOptionalPropertyTypes-friendly). */
function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: number });
}

/**
 * A target's rounds as the report shows them: median throughput, merged latencies, mean CPU per
 * window, CPU per call, and the server's peak RSS (read now, so call it before stopping the server).
 *
 * @example const result = summarizeTarget(gateway, rounds)
 */
export function summarizeTarget(target: Target, rounds: Round[]): TargetResult {
  const latency = summarize(mergeHistograms(rounds.map((r) => r.histogram)));
  const failures: Record<string, number> = {};
  for (const round of rounds) {
    for (const [message, count] of round.errors) failures[message] = (failures[message] ?? 0) + count;
  }
  const serverCpu = meanOf(rounds, "serverCpuSeconds");
  const rss = target.pid === undefined ? undefined : peakRssBytes(target.pid);
  return {
    label: target.label,
    roundThroughputs: rounds.map((r) => r.throughput),
    throughput: median(rounds.map((r) => r.throughput)),
    latency,
    ...optional("serverCpuSeconds", serverCpu),
    ...optional(
      "serverCpuUsPerCall",
      serverCpu === undefined ? undefined : (serverCpu * rounds.length * 1e6) / latency.count,
    ),
    ...optional("serverWaitSeconds", meanOf(rounds, "serverWaitSeconds")),
    ...optional("peakRssBytes", rss),
    clientCpuSeconds: meanOf(rounds, "clientCpuSeconds")!,
    ...optional("clientWaitSeconds", meanOf(rounds, "clientWaitSeconds")),
    failures,
  };
}

/** Mean of a per-round reading; undefined when any round lacks it. */
function meanOf(
  rounds: readonly Round[],
  key: "serverCpuSeconds" | "serverWaitSeconds" | "clientCpuSeconds" | "clientWaitSeconds",
): number | undefined {
  const values = rounds.map((r) => r[key]);
  if (values.some((v) => v === undefined)) return undefined;
  return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
}
