/**
 * Preloaded (`--import`) into the servers the bench starts for `--rate` runs; the server's own code
 * is unchanged. On `{ loopDelay: "start", resolutionMs }` over the IPC channel it starts a fresh
 * `perf_hooks.monitorEventLoopDelay` histogram (and counts GC pauses); on `{ loopDelay: "stop" }`
 * it stops sampling and answers with the window's histogram (see `loop-delay.ts` for the format).
 * Nothing runs outside measured windows, and the channel stays unref'd (orphan-guard.ts).
 */
import { type IntervalHistogram, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";

/** Exact percentiles sent besides Node's own halving series. */
const EXACT = [50, 90, 99, 99.9];

let monitor: IntervalHistogram | undefined;
let resolutionMs = 0;
let gc = { count: 0, totalMs: 0, maxMs: 0 };
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count++;
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
  }
});

if (process.channel) {
  process.on("message", (message: { loopDelay?: string; resolutionMs?: number }) => {
    if (message?.loopDelay === "start") {
      monitor?.disable();
      resolutionMs = message.resolutionMs ?? 2;
      monitor = monitorEventLoopDelay({ resolution: resolutionMs });
      gc = { count: 0, totalMs: 0, maxMs: 0 };
      observer.observe({ entryTypes: ["gc"] });
      monitor.enable();
    } else if (message?.loopDelay === "stop" && monitor) {
      monitor.disable();
      observer.disconnect();
      const points = [...monitor.percentiles.entries()];
      for (const p of EXACT) points.push([p, monitor.percentile(p)]);
      process.send?.({
        loopDelay: "window",
        resolutionMs,
        count: monitor.count,
        maxNs: monitor.max,
        points,
        gc,
      });
      monitor = undefined;
    }
  });
  // A 'message' listener refs the channel; the orphan guard wants it to keep nothing alive.
  process.channel.unref();
}
