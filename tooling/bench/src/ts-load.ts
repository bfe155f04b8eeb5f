import { setImmediate as yieldToLoop } from "node:timers/promises";
import { type Histogram, latencyHistogram } from "./histogram.js";
import type { WindowHooks } from "./load.js";

/** How hard and how long one TimeSeries window drives a target. */
export interface TsWindowOptions {
  /** Workers, each with one call in flight at every moment. */
  readonly workers: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /**
   * Ends the measured window early once its calls carried this many events (bounds the memory a
   * store in RAM holds when the target is very fast); unbounded when undefined.
   */
  readonly maxEvents?: number;
}

/** What one window saw. */
export interface TsWindowResult {
  /** Latency in µs of every call that started and completed inside the window. */
  readonly histogram: Histogram;
  /** Events carried by those calls (written, or read). */
  readonly events: number;
  readonly elapsedMs: number;
  /** True when `maxEvents` ended the window before its duration. */
  readonly capped: boolean;
  /** Failed calls (warm-up included), by error message. */
  readonly errors: ReadonlyMap<string, number>;
}

/**
 * One call of worker `worker` (its `n`-th); resolves with the events it carried. A rejection counts
 * as a failed call.
 */
export type TsCall = (worker: number, n: number) => Promise<number>;

/**
 * A closed loop like `runClosedLoop`, counting events rather than calls: `workers` workers each
 * issue a call and wait for it, through a warm-up and then a measured window that ends after
 * `durationMs` or at `maxEvents`. Each worker's calls run in order, so a writer's batches reach
 * its series with increasing times.
 *
 * @example const { events, elapsedMs } = await runTsWindow((w, n) => writeBatch(w, n), { workers: 4, warmupMs: 2000, durationMs: 10_000 })
 */
export async function runTsWindow(
  call: TsCall,
  options: TsWindowOptions,
  hooks: WindowHooks = {},
): Promise<TsWindowResult> {
  const histogram = latencyHistogram();
  const errors = new Map<string, number>();
  let measuring = false;
  let stopped = false;
  let capped = false;
  let windowStart = 0;
  let windowEnd = 0;
  let events = 0;
  let endWindow = () => {};

  const worker = async (id: number): Promise<void> => {
    for (let n = 0; !stopped; n++) {
      // A store in the bench process (memory) settles its calls without I/O: without this, the
      // workers would starve the timers that end the warm-up and the window.
      await yieldToLoop();
      if (stopped) break;
      const started = performance.now();
      let carried: number;
      try {
        carried = await call(id, n);
      } catch (error) {
        const message = (error as Error).message ?? String(error);
        errors.set(message, (errors.get(message) ?? 0) + 1);
        continue;
      }
      // A call that straddles the start belongs to the warm-up; one finishing after the end is dropped.
      if (measuring && started >= windowStart) {
        histogram.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
        events += carried;
        if (options.maxEvents !== undefined && events >= options.maxEvents) {
          capped = true;
          endWindow();
        }
      }
    }
  };

  const timers: NodeJS.Timeout[] = [];
  const done = new Promise<void>((resolve) => {
    endWindow = () => {
      if (!measuring) return;
      windowEnd = performance.now();
      measuring = false;
      stopped = true;
      hooks.onMeasureEnd?.();
      resolve();
    };
    timers.push(
      setTimeout(() => {
        hooks.onMeasureStart?.();
        windowStart = performance.now();
        measuring = true;
        timers.push(setTimeout(() => endWindow(), options.durationMs));
      }, options.warmupMs),
    );
  });
  const workers = Array.from({ length: options.workers }, (_, i) => worker(i));
  try {
    await done;
    await Promise.all(workers);
  } finally {
    for (const timer of timers) clearTimeout(timer);
    stopped = true;
  }
  return { histogram, events, elapsedMs: windowEnd - windowStart, capped, errors };
}
