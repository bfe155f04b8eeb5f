import { describe, expect, it } from "vitest";
import type { LoadtestResult } from "./result.js";
import { blockPoints, fitLine, robustTrend, trend } from "./slope.js";
import { buildSoakReport, DEFAULT_BOUNDS } from "./soak-report.js";
import { metricValue, type SoakSample } from "./soak-sampler.js";

describe("fitLine", () => {
  it("fits exact lines", () => {
    expect(fitLine([0, 1, 2], [1, 3, 5])).toEqual({ slope: 2, intercept: 1, points: 3 });
    expect(fitLine([1, 1], [2, 4])).toEqual({ slope: 0, intercept: 3, points: 2 });
    expect(fitLine([], [])).toEqual({ slope: 0, intercept: 0, points: 0 });
  });

  it("recovers a slope from noisy synthetic data", () => {
    let state = 42;
    const next = () => {
      state = (state * 16807) % 2147483647;
      return state / 2147483647 - 0.5;
    };
    const xs = Array.from({ length: 120 }, (_, i) => i / 12);
    const ys = xs.map((x) => 150 + 0.8 * x + 6 * next());
    expect(fitLine(xs, ys).slope).toBeCloseTo(0.8, 0);
  });
});

describe("trend", () => {
  it("leaves the warm-up share out, so a growing start is not a trend", () => {
    const minutes = Array.from({ length: 50 }, (_, i) => (i + 1) / 5);
    const warming = minutes.map((m) => (m < 1.5 ? 100 + 40 * m : 160));
    expect(trend(minutes, warming, 0.2, 1)).toMatchObject({ slope: 0, ok: true, points: 41 });
    expect(trend(minutes, warming, 0, 1).ok).toBe(false);
    const leaking = minutes.map((m) => 160 + 3 * m);
    expect(trend(minutes, leaking, 0.2, 1)).toMatchObject({ ok: false });
    expect(trend(minutes, leaking, 0.2, 1).slope).toBeCloseTo(3);
  });

  it("fits a sawtooth heap through its floor, where a leak shows and collections do not", () => {
    // Samples every 5 s for 10 min; the heap climbs 60 MiB and is collected every 40 s.
    const minutes = Array.from({ length: 120 }, (_, i) => ((i + 1) * 5) / 60);
    const sawtooth = (m: number) => 50 + 60 * (((m * 60) % 40) / 40);
    expect(
      Math.abs(trend(minutes, minutes.map(sawtooth), 0.2, 1, { minutes: 1.33, pick: "min" }).slope),
    ).toBeLessThan(0.5);
    const leaking = trend(
      minutes,
      minutes.map((m) => sawtooth(m) + 3 * m),
      0.2,
      1,
      { minutes: 1.33, pick: "min" },
    );
    expect(leaking.slope).toBeCloseTo(3, 0);
    expect(leaking.points).toBeGreaterThanOrEqual(6);
  });

  it("takes the lowest point or the median per block", () => {
    expect(blockPoints([0, 1, 2, 3], [5, 1, 7, 2], 0, { minutes: 2, pick: "min" })).toEqual({
      xs: [1, 3],
      ys: [1, 2],
    });
    expect(blockPoints([0, 1, 2, 3, 4, 5], [5, 1, 7, 2, 2, 900], 0, { minutes: 3, pick: "median" })).toEqual({
      xs: [1, 4],
      ys: [5, 2],
    });
  });

  it("fits latency through block medians, so lone spikes are not a trend", () => {
    const minutes = Array.from({ length: 120 }, (_, i) => ((i + 1) * 5) / 60);
    const spiky = minutes.map((_, i): number => (i % 17 === 16 ? 400 : 5));
    spiky[118] = 900; // a neighbour's build at the very end
    expect(trend(minutes, spiky, 0.2, 2).ok).toBe(false);
    expect(trend(minutes, spiky, 0.2, 2, { minutes: 1.33, pick: "median" }).slope).toBeCloseTo(0);
  });

  it("skips missing values", () => {
    expect(trend([1, 2, 3, 4], [1, Number.NaN, 3, 4], 0, 10).points).toBe(3);
  });
});

describe("robustTrend", () => {
  const minutes = Array.from({ length: 120 }, (_, i) => ((i + 1) * 5) / 60);
  /** A p99 per 5 s as a loaded 2-core machine gives it: ~30 ms, with slow intervals up to 200 ms. */
  const noisy = (seed: number) => {
    let state = seed;
    return minutes.map(() => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      const u = state / 2 ** 31;
      return u > 0.85 ? 60 + u * 150 : 25 + u * 15;
    });
  };

  it("passes flat noisy latency, whatever its spikes, for many seeds", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const fit = robustTrend(minutes, noisy(seed), 0.2, 2);
      expect(fit.ok, `seed ${seed}: ${JSON.stringify(fit)}`).toBe(true);
      expect(fit.low!).toBeLessThanOrEqual(fit.slope);
      expect(fit.high!).toBeGreaterThanOrEqual(fit.slope);
    }
  });

  it("fails latency that climbs 5 ms a minute under the same noise", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const climbing = noisy(seed).map((y, i) => y + 5 * minutes[i]!);
      const fit = robustTrend(minutes, climbing, 0.2, 2);
      expect(fit.ok, `seed ${seed}: ${JSON.stringify(fit)}`).toBe(false);
      expect(fit.slope).toBeGreaterThan(2);
      expect(fit.low!).toBeGreaterThan(0);
    }
  });

  it("recovers an exact line, and passes a slope above the bound that the samples cannot tell from zero", () => {
    const line = robustTrend([0, 1, 2, 3, 4], [3, 5, 7, 9, 11], 0, 1);
    expect(line).toMatchObject({ slope: 2, intercept: 3, points: 5, ok: false });
    // Four points that zigzag: a median slope above the bound, an interval that spans zero.
    const zigzag = robustTrend([0, 1, 2, 3], [0, 40, 0, 40], 0, 2);
    expect(zigzag.low!).toBeLessThanOrEqual(0);
    expect(zigzag.ok).toBe(true);
  });
});

describe("soak report", () => {
  const load = {
    operations: { "kv.get": { ok: 999, count: 1000 } },
  } as unknown as LoadtestResult;
  const samples = (rss: (minute: number) => number): SoakSample[] =>
    Array.from({ length: 60 }, (_, i) => ({
      t: (i + 1) * 10,
      rssMiB: rss((i + 1) / 6),
      heapUsedMiB: 50,
      lagP99Ms: 10,
      p99Ms: 4,
      okRate: 300,
      errors: 0,
    }));
  const report = (rss: (minute: number) => number) =>
    buildSoakReport({
      startedAt: new Date(0),
      minutes: 10,
      rate: 300,
      sampleSeconds: 10,
      warmupShare: 0.2,
      bounds: DEFAULT_BOUNDS,
      samples: samples(rss),
      load,
    });

  it("passes a flat run and fails a leaking one, naming the series", () => {
    expect(report(() => 150).failures).toEqual([]);
    expect(report((m) => 150 + 10 * m).failures).toEqual(["rssMiB grows 10.000 MiB/min > 4"]);
  });
});

describe("metricValue", () => {
  it("reads a sample from a Prometheus exposition", () => {
    const text = [
      "# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.",
      "# TYPE nodejs_heap_size_used_bytes gauge",
      "nodejs_heap_size_used_bytes 52428800",
      "nodejs_heap_size_used_bytes_other 1",
      'nodejs_eventloop_lag_p99_seconds{pid="1"} 0.0123',
    ].join("\n");
    expect(metricValue(text, "nodejs_heap_size_used_bytes")).toBe(52428800);
    expect(metricValue(text, "nodejs_eventloop_lag_p99_seconds")).toBe(0.0123);
    expect(metricValue(text, "process_resident_memory_bytes")).toBeNull();
  });
});
