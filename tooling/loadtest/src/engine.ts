import { status } from "@grpc/grpc-js";
import { type Histogram, latencyHistogram, latencyMs } from "./histogram.js";

/** One kind of request in the mix: how often, and how to issue the `seq`th one. */
export interface LoadOperation {
  readonly name: string;
  /** Relative share of the offered rate (weights need not sum to anything). */
  readonly weight: number;
  /** Issues one request; resolves when it has completed, rejects with its error. */
  run(seq: number): Promise<void>;
}

/** How hard and how long to drive the mix. */
export interface EngineOptions {
  /** Total requests per second, scheduled at fixed times `i × 1000 / rate` ms after the start. */
  readonly rate: number;
  /** Milliseconds of load before measuring; nothing scheduled in them is recorded. */
  readonly warmupMs: number;
  /** Milliseconds of measured schedule. */
  readonly durationMs: number;
  /** Requests in flight at most; a request due while the cap is reached is not issued, only counted. */
  readonly maxInFlight: number;
  /** Seed of the mix: which operation each scheduled request is. */
  readonly seed: number;
  /** Longest wait, after the schedule, for requests still in flight (default 30 s). */
  readonly drainMs?: number;
  /** Called for every measured request that completes (ok or not), e.g. for a soak's intervals. */
  readonly onComplete?: (operation: string, latencyMicros: number, ok: boolean) => void;
  /** Stops the schedule early (a soak's Ctrl-C): the window then ends at that point. */
  readonly signal?: AbortSignal;
}

/** One operation's measured requests. */
export interface OperationOutcome {
  readonly name: string;
  /** Requests scheduled in the measured window. */
  readonly scheduled: number;
  /** Scheduled requests that were not issued because `maxInFlight` were in flight. */
  readonly notIssued: number;
  /** Requests that completed without error (the histogram holds their latencies). */
  readonly ok: number;
  /** Failed requests by gRPC code name (`UNAVAILABLE`), or `CLIENT` for errors without a code. */
  readonly errors: Record<string, number>;
  /** Requests still in flight when the drain gave up. */
  readonly unfinished: number;
  /** Latency in µs from each request's scheduled time to its completion. */
  readonly histogram: Histogram;
}

/** One second of the measured window, per operation (by completion time). */
export interface SecondSample {
  /** Seconds since the measured window started. */
  readonly second: number;
  readonly operation: string;
  readonly completed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** What a run of the mix saw. */
export interface EngineResult {
  readonly operations: OperationOutcome[];
  readonly timeline: SecondSample[];
  /** Milliseconds from the measured window's start until its schedule ended. */
  readonly elapsedMs: number;
  /** A sample error message per code (the first seen), to tell a misconfiguration apart. */
  readonly errorSamples: Record<string, string>;
}

/**
 * The operation of each scheduled request: a seeded weighted draw, so the same seed and weights
 * give the same sequence (mulberry32).
 *
 * @example const pick = weightedPicker([3, 1], 1); pick() // 0 about three times in four
 */
export function weightedPicker(weights: readonly number[], seed: number): () => number {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let sum = 0;
  const cumulative = weights.map((weight) => {
    sum += weight / total;
    return sum;
  });
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    const index = cumulative.findIndex((edge) => u < edge);
    return index === -1 ? weights.length - 1 : index;
  };
}

/**
 * The gRPC code name of an error, `CLIENT` when it has none (e.g. a response that failed a check).
 *
 * @example errorCode({ code: 14 }) // "UNAVAILABLE"
 */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" && status[code] !== undefined ? status[code] : "CLIENT";
}

/**
 * Drives an open loop over a weighted mix: request `i` is scheduled `i × 1000 / rate` ms after the
 * start whatever earlier requests did, and its latency counts from that scheduled time — a client
 * that falls behind (a stalled event loop, a slow server) shows as latency instead of quietly
 * sending less (no coordinated omission). At most `maxInFlight` are in flight; a request due
 * beyond that is not issued and counted as such. Requests scheduled in the warm-up are issued but
 * not recorded; the ones scheduled in the window are waited for.
 *
 * @example const result = await runMix([{ name: "kv.get", weight: 1, run: (seq) => get(seq) }], { rate: 500, warmupMs: 1000, durationMs: 10_000, maxInFlight: 256, seed: 1 })
 */
export async function runMix(
  operations: readonly LoadOperation[],
  options: EngineOptions,
): Promise<EngineResult> {
  const outcomes = operations.map((operation) => ({
    name: operation.name,
    scheduled: 0,
    notIssued: 0,
    ok: 0,
    errors: {} as Record<string, number>,
    unfinished: 0,
    histogram: latencyHistogram(),
    second: latencyHistogram(2),
  }));
  const errorSamples: Record<string, string> = {};
  const timeline: SecondSample[] = [];
  const pick = weightedPicker(
    operations.map((operation) => operation.weight),
    options.seed,
  );
  const periodMs = 1000 / options.rate;
  const firstMeasured = Math.ceil(options.warmupMs / periodMs);
  const end = firstMeasured + Math.max(1, Math.round(options.durationMs / periodMs));
  const start = performance.now();
  const windowStart = start + firstMeasured * periodMs;
  let next = 0;
  let inFlight = 0;
  let pending = 0; // measured requests issued and not yet settled
  let secondsClosed = 0;
  let onIdle: (() => void) | undefined;

  const closeSeconds = (now: number): void => {
    const upTo = Math.floor((now - windowStart) / 1000);
    for (; secondsClosed < upTo; secondsClosed++) {
      for (const outcome of outcomes) {
        const latency = latencyMs(outcome.second);
        timeline.push({
          second: secondsClosed,
          operation: outcome.name,
          completed: outcome.second.totalCount,
          p50Ms: latency.p50,
          p99Ms: latency.p99,
        });
        outcome.second.reset();
      }
    }
  };
  const issue = (seq: number, scheduledAt: number): void => {
    const index = pick();
    const outcome = outcomes[index]!;
    const measured = seq >= firstMeasured;
    if (measured) outcome.scheduled++;
    if (inFlight >= options.maxInFlight) {
      if (measured) outcome.notIssued++;
      return;
    }
    inFlight++;
    if (measured) pending++;
    // A request sent (up to 1 ms) early counts from when it was sent: never less than it took.
    const from = Math.min(scheduledAt, performance.now());
    const settle = (error: unknown): void => {
      inFlight--;
      if (!measured) return;
      const micros = Math.max(1, Math.round((performance.now() - from) * 1000));
      if (error === undefined) {
        outcome.ok++;
        outcome.histogram.recordValue(micros);
        outcome.second.recordValue(micros);
      } else {
        const code = errorCode(error);
        outcome.errors[code] = (outcome.errors[code] ?? 0) + 1;
        errorSamples[code] ??= (error as Error)?.message ?? String(error);
      }
      options.onComplete?.(outcome.name, micros, error === undefined);
      pending--;
      if (pending === 0 && next >= end) onIdle?.();
    };
    let call: Promise<void>;
    try {
      call = operations[index]!.run(seq);
    } catch (error) {
      call = Promise.reject(error);
    }
    call.then(() => settle(undefined), settle);
  };

  let scheduleEnd = start + end * periodMs;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      if (options.signal?.aborted) {
        scheduleEnd = now;
        next = end;
        resolve();
        return;
      }
      // Up to 1 ms early: Node's timers fire late by up to a millisecond, never early.
      const due = Math.min(end, Math.floor((now + 1 - start) / periodMs) + 1);
      for (; next < due; next++) issue(next, start + next * periodMs);
      if (next > firstMeasured) closeSeconds(now);
      if (next >= end) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, start + next * periodMs - 1 - performance.now()));
    };
    tick();
  });
  const elapsedMs = Math.max(1, scheduleEnd - windowStart);
  if (pending > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.drainMs ?? 30_000);
      onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  // The last, partial second too, so every completion shows in the timeline.
  closeSeconds(windowStart + (secondsClosed + 1) * 1000);
  return {
    operations: outcomes.map(({ second: _, ...outcome }) => ({
      ...outcome,
      unfinished: outcome.scheduled - outcome.notIssued - outcome.ok - errorTotal(outcome.errors),
    })),
    timeline,
    elapsedMs,
    errorSamples,
  };
}

/**
 * Failed requests over every code.
 *
 * @example errorTotal({ UNAVAILABLE: 2, CLIENT: 1 }) // 3
 */
export function errorTotal(errors: Record<string, number>): number {
  return Object.values(errors).reduce((sum, n) => sum + n, 0);
}
