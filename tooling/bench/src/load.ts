import { type Histogram, latencyHistogram } from "./histogram.js";

/**
 * Issues call number `seq` (0, 1, 2, …; spread over the workers) and settles when it completed.
 * A rejection counts as a failed call, never as a latency.
 */
export type IssueCall = (seq: number) => Promise<void>;

/** How hard and how long to drive a target. */
export interface LoadOptions {
  /** Calls kept outstanding at every moment (closed loop: each completion starts the next call). */
  readonly concurrency: number;
  /** Milliseconds of load before measuring starts; nothing from them is recorded. */
  readonly warmupMs: number;
  /** Milliseconds of measured load. */
  readonly durationMs: number;
}

/** Called synchronously at the edges of the measured window, e.g. to read a server's CPU time. */
export interface WindowHooks {
  onMeasureStart?(): void;
  onMeasureEnd?(): void;
}

/** What one measured window saw. */
export interface LoadResult {
  /** Latency in µs of every call that started and completed inside the window. */
  readonly histogram: Histogram;
  /** Length of the window as actually measured (timers fire late under load). */
  readonly elapsedMs: number;
  /** Completed calls per second inside the window. */
  readonly throughput: number;
  /** Failed calls (warm-up included), by error message. */
  readonly errors: ReadonlyMap<string, number>;
}

/**
 * Drives a closed loop: `concurrency` workers each issue a call, wait for it, and issue the next,
 * through a warm-up and then a measured window. A benchmark, not a test: it only measures.
 *
 * @example const { throughput, histogram } = await runClosedLoop((seq) => client.get(requests[seq % n]), options)
 */
export async function runClosedLoop(
  issue: IssueCall,
  options: LoadOptions,
  hooks: WindowHooks = {},
): Promise<LoadResult> {
  const histogram = latencyHistogram();
  const errors = new Map<string, number>();
  let measuring = false;
  let stopped = false;
  let windowStart = 0;
  let windowEnd = 0;

  const worker = async (first: number): Promise<void> => {
    for (let seq = first; !stopped; seq += options.concurrency) {
      const started = performance.now();
      try {
        await issue(seq);
      } catch (error) {
        const message = (error as Error).message ?? String(error);
        errors.set(message, (errors.get(message) ?? 0) + 1);
        continue;
      }
      // A call that straddles the start belongs to the warm-up; one finishing after the end is dropped.
      if (measuring && started >= windowStart) {
        histogram.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
      }
    }
  };

  const timers: NodeJS.Timeout[] = [];
  const done = new Promise<void>((resolve) => {
    timers.push(
      setTimeout(() => {
        hooks.onMeasureStart?.();
        windowStart = performance.now();
        measuring = true;
        timers.push(
          setTimeout(() => {
            windowEnd = performance.now();
            measuring = false;
            stopped = true;
            hooks.onMeasureEnd?.();
            resolve();
          }, options.durationMs),
        );
      }, options.warmupMs),
    );
  });
  const workers = Array.from({ length: options.concurrency }, (_, i) => worker(i));
  try {
    await done;
    await Promise.all(workers);
  } finally {
    for (const timer of timers) clearTimeout(timer);
    stopped = true;
  }
  const elapsedMs = windowEnd - windowStart;
  return { histogram, elapsedMs, throughput: (histogram.totalCount * 1000) / elapsedMs, errors };
}
