import type { ChildProcess } from "node:child_process";
import { type Histogram, latencyHistogram } from "./histogram.js";

/** One measured window's event-loop delay, as `loop-delay-probe.ts` reports it over IPC. */
export interface LoopDelayWindow {
  /** The sampling interval, ms: every sample is the time between two ticks of that timer. */
  readonly resolutionMs: number;
  /** Samples taken. */
  readonly count: number;
  /** Largest sample, ns. */
  readonly maxNs: number;
  /** (percentile, ns) pairs of the window's distribution, in any order. */
  readonly points: readonly (readonly [number, number])[];
  /** Garbage-collection pauses in the window. */
  readonly gc: { readonly count: number; readonly totalMs: number; readonly maxMs: number };
}

/** Event-loop delay over every measured window of one target, µs beyond the sampling interval. */
export interface LoopDelaySummary {
  readonly resolutionMs: number;
  readonly samples: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** GC pauses per window (mean) and the longest one, ms. */
  readonly gcPerWindow: number;
  readonly gcMsPerWindow: number;
  readonly gcMaxMs: number;
}

/**
 * Checks a child's IPC message; undefined unless it is a well-formed loop-delay window.
 *
 * @example parseLoopDelay({ loopDelay: "window", resolutionMs: 2, count: 3, maxNs: 4e6, points: [[50, 2.1e6]], gc }) // LoopDelayWindow
 */
export function parseLoopDelay(message: unknown): LoopDelayWindow | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const m = message as Record<string, unknown>;
  const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
  if (m.loopDelay !== "window" || !finite(m.resolutionMs) || !finite(m.count) || !finite(m.maxNs)) {
    return undefined;
  }
  if (!Array.isArray(m.points)) return undefined;
  const points = m.points.filter(
    (p): p is [number, number] =>
      Array.isArray(p) && p.length === 2 && finite(p[0]) && p[0] <= 100 && finite(p[1]),
  );
  if (points.length !== m.points.length) return undefined;
  const gc = m.gc as Record<string, unknown> | undefined;
  if (!gc || !finite(gc.count) || !finite(gc.totalMs) || !finite(gc.maxMs)) return undefined;
  return {
    resolutionMs: m.resolutionMs,
    count: m.count,
    maxNs: m.maxNs,
    points,
    gc: { count: gc.count, totalMs: gc.totalMs, maxMs: gc.maxMs },
  };
}

/**
 * Rebuilds each window's distribution from its (percentile, value) points — the samples between
 * two points take the upper point's value, so every reported percentile is reproduced exactly — and
 * merges the windows into one summary, in µs of delay beyond the sampling interval.
 *
 * @example summarizeLoopDelay([window1, window2]).p99 // 850
 */
export function summarizeLoopDelay(windows: readonly LoopDelayWindow[]): LoopDelaySummary | undefined {
  if (windows.length === 0) return undefined;
  const merged: Histogram = latencyHistogram();
  let max = 0;
  for (const w of windows) {
    const offsetNs = w.resolutionMs * 1e6;
    const delayUs = (ns: number) => Math.max(1, Math.round((ns - offsetNs) / 1000));
    const points = [...w.points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let below = 0; // samples accounted for so far
    for (const [percentile, ns] of points) {
      const upTo = Math.round((percentile / 100) * w.count);
      if (upTo > below) {
        merged.recordValueWithCount(delayUs(ns), upTo - below);
        below = upTo;
      }
    }
    if (w.count > below) merged.recordValueWithCount(delayUs(w.maxNs), w.count - below);
    max = Math.max(max, delayUs(w.maxNs));
  }
  const mean = (f: (w: LoopDelayWindow) => number) => windows.reduce((a, w) => a + f(w), 0) / windows.length;
  return {
    resolutionMs: windows[0]!.resolutionMs,
    samples: merged.totalCount,
    p50: merged.getValueAtPercentile(50),
    p99: merged.getValueAtPercentile(99),
    max,
    gcPerWindow: mean((w) => w.gc.count),
    gcMsPerWindow: mean((w) => w.gc.totalMs),
    gcMaxMs: Math.max(...windows.map((w) => w.gc.maxMs)),
  };
}

/**
 * The bench's side of `loop-delay-probe.ts`: starts sampling in a child at a window's start and
 * collects the window at its end.
 *
 * @example const probe = new LoopDelayProbe(gateway.process, 2); probe.start(); …; windows.push(await probe.stop())
 */
export class LoopDelayProbe {
  constructor(
    private readonly child: ChildProcess,
    private readonly resolutionMs: number,
  ) {}

  /** Starts a fresh histogram in the child (synchronous send; sampling begins when it arrives). */
  start(): void {
    this.child.send({ loopDelay: "start", resolutionMs: this.resolutionMs });
  }

  /** Stops sampling and resolves with the window, or rejects after `timeoutMs`. */
  stop(timeoutMs = 10_000): Promise<LoopDelayWindow> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.off("message", onMessage);
        reject(new Error("no event-loop delay report from the child (is loop-delay-probe.ts preloaded?)"));
      }, timeoutMs);
      const onMessage = (message: unknown) => {
        const window = parseLoopDelay(message);
        if (!window) return;
        clearTimeout(timer);
        this.child.off("message", onMessage);
        resolve(window);
      };
      this.child.on("message", onMessage);
      this.child.send({ loopDelay: "stop" });
    });
  }
}
