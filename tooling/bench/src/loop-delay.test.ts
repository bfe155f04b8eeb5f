import { describe, expect, it } from "vitest";
import { type LoopDelayWindow, parseLoopDelay, summarizeLoopDelay } from "./loop-delay.js";

const gc = { count: 2, totalMs: 3, maxMs: 2 };

/** A window sampled every 2 ms: 100 samples, 98 at 2.1 ms, one at 5 ms, one at 32 ms. */
const window: LoopDelayWindow = {
  resolutionMs: 2,
  count: 100,
  maxNs: 32e6,
  points: [
    [0, 2.1e6],
    [50, 2.1e6],
    [98, 2.1e6],
    [99, 5e6],
    [100, 32e6],
  ],
  gc,
};

describe("loop delay", () => {
  it("parses the probe's message and rejects anything else", () => {
    const message = { loopDelay: "window", ...window };
    expect(parseLoopDelay(message)).toEqual(window);
    expect(parseLoopDelay(null)).toBeUndefined();
    expect(parseLoopDelay({ ...message, loopDelay: "start" })).toBeUndefined();
    expect(parseLoopDelay({ ...message, count: -1 })).toBeUndefined();
    expect(parseLoopDelay({ ...message, points: [[101, 5]] })).toBeUndefined();
    expect(parseLoopDelay({ ...message, points: [[50]] })).toBeUndefined();
    expect(parseLoopDelay({ ...message, gc: undefined })).toBeUndefined();
  });

  it("rebuilds the distribution in µs beyond the sampling interval", () => {
    const summary = summarizeLoopDelay([window])!;
    expect(summary.samples).toBe(100);
    expect(summary.p50).toBe(100);
    expect(summary.p99).toBeCloseTo(3000, -1); // HDR: within 0.1 %
    expect(summary.max).toBe(30_000);
    expect(summary.gcPerWindow).toBe(2);
    expect(summary.gcMaxMs).toBe(2);
  });

  it("merges windows by their samples", () => {
    const quiet: LoopDelayWindow = {
      resolutionMs: 2,
      count: 300,
      maxNs: 2.2e6,
      points: [
        [50, 2.05e6],
        [100, 2.2e6],
      ],
      gc: { count: 0, totalMs: 0, maxMs: 0 },
    };
    const summary = summarizeLoopDelay([window, quiet])!;
    expect(summary.samples).toBe(400);
    expect(summary.p50).toBe(100); // 150 samples at 50, then 98 at 100 of the busy window
    expect(summary.max).toBe(30_000);
    expect(summary.gcPerWindow).toBe(1);
    expect(summarizeLoopDelay([])).toBeUndefined();
  });
});
