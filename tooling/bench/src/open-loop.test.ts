import { describe, expect, it } from "vitest";
import { cpuPerThousand, dueCount, latencyMicros, runOpenLoop, scheduledAtMs } from "./open-loop.js";

describe("open-loop scheduling math", () => {
  it("schedules call i at i × 1000 / rate ms", () => {
    expect(scheduledAtMs(0, 1000)).toBe(0);
    expect(scheduledAtMs(3, 1000)).toBe(3);
    expect(scheduledAtMs(5, 200)).toBe(25);
  });

  it("counts the calls due, call 0 at once, sending up to earlyMs ahead", () => {
    expect(dueCount(0, 1000, 0)).toBe(1);
    expect(dueCount(2.5, 1000, 0)).toBe(3);
    expect(dueCount(2.5, 1000, 1)).toBe(4);
    expect(dueCount(-5, 1000, 1)).toBe(0);
    expect(dueCount(1000, 250, 0)).toBe(251);
  });

  it("counts latency from the schedule when late, from the send when early", () => {
    expect(latencyMicros(10, 10.4, 11)).toBe(1000);
    expect(latencyMicros(10, 9.5, 10.2)).toBe(700);
    expect(latencyMicros(10, 10, 10)).toBe(1);
  });

  it("gives CPUs per 1,000 calls/s", () => {
    expect(cpuPerThousand(4.5, 15, 1000)).toBeCloseTo(0.3);
    expect(cpuPerThousand(4.5, 15, 2000)).toBeCloseTo(0.15);
  });
});

describe("runOpenLoop", () => {
  it("keeps the rate whatever the calls take, and records every measured call", async () => {
    const seen: number[] = [];
    const marks: string[] = [];
    const result = await runOpenLoop(
      async (seq) => {
        seen.push(seq);
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
      { rate: 500, concurrency: 50, warmupMs: 20, durationMs: 100 },
      { onMeasureStart: () => marks.push("start"), onMeasureEnd: () => marks.push("end") },
    );
    expect(marks).toEqual(["start", "end"]);
    // 10 warm-up calls (20 ms at 500/s), then 50 measured ones, each sent once, in order.
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(result.scheduled).toBe(50);
    expect(result.histogram.totalCount).toBe(50);
    expect(result.unfinished).toBe(0);
    expect(result.histogram.minNonZeroValue).toBeGreaterThanOrEqual(4000);
  });

  it("queues calls beyond the in-flight cap and counts their wait", async () => {
    let inFlight = 0;
    let most = 0;
    const result = await runOpenLoop(
      async () => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 20));
        inFlight--;
      },
      { rate: 1000, concurrency: 2, warmupMs: 0, durationMs: 20 },
    );
    expect(most).toBe(2);
    expect(result.histogram.totalCount).toBe(20);
    // 20 calls two at a time, 20 ms each: the last waits ~180 ms behind the cap, and that shows.
    expect(result.histogram.maxValue).toBeGreaterThan(150_000);
    expect(result.sendLag.maxValue).toBeGreaterThan(100_000);
  });

  it("counts failures by message instead of recording them", async () => {
    const result = await runOpenLoop(
      async (seq) => {
        if (seq % 2 === 1) throw new Error("boom");
      },
      { rate: 1000, concurrency: 4, warmupMs: 0, durationMs: 10 },
    );
    expect(result.errors.get("boom")).toBe(5);
    expect(result.histogram.totalCount).toBe(5);
  });
});
