import { describe, expect, it } from "vitest";
import { runClosedLoop } from "./load.js";

describe("runClosedLoop", () => {
  it("keeps `concurrency` calls outstanding and records only the measured window", async () => {
    let outstanding = 0;
    let most = 0;
    const seen = new Set<number>();
    const marks: string[] = [];
    const result = await runClosedLoop(
      async (seq) => {
        seen.add(seq);
        most = Math.max(most, ++outstanding);
        await new Promise((resolve) => setImmediate(resolve));
        outstanding--;
      },
      { concurrency: 3, warmupMs: 20, durationMs: 40 },
      { onMeasureStart: () => marks.push("start"), onMeasureEnd: () => marks.push("end") },
    );
    expect(most).toBe(3);
    expect(marks).toEqual(["start", "end"]);
    expect(result.histogram.totalCount).toBeGreaterThan(0);
    // Warm-up calls ran too but were not recorded.
    expect(seen.size).toBeGreaterThan(result.histogram.totalCount);
    expect(result.throughput).toBeCloseTo((result.histogram.totalCount * 1000) / result.elapsedMs);
    expect(result.errors.size).toBe(0);
  });

  it("counts failures by message instead of recording them", async () => {
    const result = await runClosedLoop(
      async (seq) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (seq % 2 === 1) throw new Error("boom");
      },
      { concurrency: 2, warmupMs: 0, durationMs: 20 },
    );
    expect(result.errors.get("boom")).toBeGreaterThan(0);
    expect(result.histogram.totalCount).toBeGreaterThan(0);
  });
});
