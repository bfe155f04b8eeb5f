import { type Histogram, latencyHistogram } from "./histogram.js";
import type { IssueCall, LoadResult, WindowHooks } from "./load.js";

/** How hard and how long to drive a target at a fixed offered rate. */
export interface OpenLoopOptions {
  /** Calls per second, scheduled at fixed times `i × 1000 / rate` ms after the start. */
  readonly rate: number;
  /** Most calls in flight; a call due while the cap is reached waits (and its wait counts). */
  readonly concurrency: number;
  /** Milliseconds of load before measuring starts; nothing from them is recorded. */
  readonly warmupMs: number;
  /** Milliseconds of measured schedule. */
  readonly durationMs: number;
  /**
   * A call may be sent up to this many ms before its scheduled time, so that Node's 1 ms timer
   * granularity does not add up to a millisecond of client lateness to every call. An early call's
   * latency counts from when it was sent (never less than its real duration).
   */
  readonly earlyMs?: number;
  /** Longest wait, after the window, for calls scheduled inside it (default 30 s). */
  readonly drainMs?: number;
}

/** What one open-loop window saw. */
export interface OpenLoopResult extends LoadResult {
  /** µs each measured call was sent after its scheduled time (0 when on time or early). */
  readonly sendLag: Histogram;
  /** Calls scheduled inside the window. */
  readonly scheduled: number;
  /** Calls scheduled inside the window that had not settled when the drain gave up. */
  readonly unfinished: number;
}

/**
 * Milliseconds after the start at which call `index` is scheduled.
 *
 * @example scheduledAtMs(3, 1000) // 3
 */
export function scheduledAtMs(index: number, rate: number): number {
  return (index * 1000) / rate;
}

/**
 * How many calls (indices 0 … n−1) are due `elapsedMs` after the start, sending up to `earlyMs`
 * ahead of schedule. Call 0 is due at once.
 *
 * @example dueCount(2.5, 1000, 0) // 3: calls 0, 1 and 2
 */
export function dueCount(elapsedMs: number, rate: number, earlyMs: number): number {
  if (elapsedMs + earlyMs < 0) return 0;
  return Math.floor(((elapsedMs + earlyMs) * rate) / 1000) + 1;
}

/**
 * Microseconds a call took as an open-loop measurement: from its scheduled time when it was sent
 * late (queueing behind the in-flight cap or a busy client shows), from when it was sent when it
 * went early (never shorter than the call itself). At least 1.
 *
 * @example latencyMicros(10, 10.4, 11) // 1000: sent 0.4 ms late, answered 0.6 ms later
 */
export function latencyMicros(scheduledMs: number, sentMs: number, completedMs: number): number {
  return Math.max(1, Math.round((completedMs - Math.min(scheduledMs, sentMs)) * 1000));
}

/**
 * Server CPU per 1,000 calls/s of offered load, in CPUs: CPU seconds / window seconds / (rate / 1000).
 *
 * @example cpuPerThousand(4.5, 15, 1000) // 0.3
 */
export function cpuPerThousand(cpuSeconds: number, windowSeconds: number, rate: number): number {
  return cpuSeconds / windowSeconds / (rate / 1000);
}

/**
 * Drives an open loop: call `i` is scheduled `i × 1000 / rate` ms after the start, whatever the
 * earlier calls did; at most `concurrency` are in flight, and calls due beyond that queue in order.
 * Latency counts from the scheduled time, so queueing in the server (or at the cap) shows instead of
 * slowing the load down (no coordinated omission). Calls scheduled in the warm-up are not recorded;
 * calls scheduled inside the window are all waited for.
 *
 * @example const { histogram } = await runOpenLoop((seq) => client.get(seq), { rate: 1000, concurrency: 32, warmupMs: 3000, durationMs: 15_000 })
 */
export async function runOpenLoop(
  issue: IssueCall,
  options: OpenLoopOptions,
  hooks: WindowHooks = {},
): Promise<OpenLoopResult> {
  const earlyMs = options.earlyMs ?? 1;
  const histogram = latencyHistogram();
  const sendLag = latencyHistogram();
  const errors = new Map<string, number>();
  const firstMeasured = Math.ceil((options.warmupMs * options.rate) / 1000);
  const end = firstMeasured + Math.max(1, Math.round((options.durationMs * options.rate) / 1000));
  const start = performance.now();
  let next = 0; // next call to release to the queue
  let sent = 0; // next call to send (calls next..sent-1 are queued)
  let inFlight = 0;
  let measuredDone = 0;
  let windowStart = 0;
  let windowEnd = 0;
  let onIdle: (() => void) | undefined;

  const send = (): void => {
    while (sent < next && inFlight < options.concurrency) {
      const seq = sent++;
      const scheduled = start + scheduledAtMs(seq, options.rate);
      const sentAt = performance.now();
      const measured = seq >= firstMeasured;
      if (measured) sendLag.recordValue(Math.max(1, Math.round((sentAt - scheduled) * 1000)));
      inFlight++;
      issue(seq).then(
        () =>
          settle(measured, () => histogram.recordValue(latencyMicros(scheduled, sentAt, performance.now()))),
        (error: unknown) => {
          const message = (error as Error)?.message ?? String(error);
          errors.set(message, (errors.get(message) ?? 0) + 1);
          settle(measured, () => undefined);
        },
      );
    }
  };
  const settle = (measured: boolean, record: () => void): void => {
    inFlight--;
    if (measured) {
      record();
      measuredDone++;
    }
    send();
    if (measuredDone === end - firstMeasured) onIdle?.();
  };

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsed = performance.now() - start;
      const due = Math.min(end, dueCount(elapsed, options.rate, earlyMs));
      if (next <= firstMeasured && due > firstMeasured) {
        hooks.onMeasureStart?.();
        windowStart = performance.now();
      }
      next = Math.max(next, due);
      send();
      if (next >= end) {
        windowEnd = start + scheduledAtMs(end, options.rate);
        resolve();
        return;
      }
      const wait = scheduledAtMs(next, options.rate) - earlyMs - (performance.now() - start);
      setTimeout(tick, Math.max(0, wait));
    };
    tick();
  });
  // The window closes at the end of its schedule; the server's CPU is read then.
  const lateBy = performance.now() - windowEnd;
  if (lateBy < 0) await new Promise((resolve) => setTimeout(resolve, -lateBy));
  hooks.onMeasureEnd?.();
  const elapsedMs = Math.max(performance.now(), windowEnd) - windowStart;
  if (measuredDone < end - firstMeasured) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.drainMs ?? 30_000);
      onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  const scheduled = end - firstMeasured;
  return {
    histogram,
    sendLag,
    elapsedMs,
    throughput: (histogram.totalCount * 1000) / elapsedMs,
    errors,
    scheduled,
    unfinished: scheduled - measuredDone,
  };
}
