import { describe, expect, it } from "vitest";
import { errorCode, type LoadOperation, runMix, weightedPicker } from "./engine.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const base = { warmupMs: 0, maxInFlight: 10_000, seed: 1 };

describe("runMix", () => {
  it("keeps the schedule while the target stalls, and counts the wait from the scheduled start", async () => {
    // The target answers nothing for its first 300 ms, then everything at once.
    const stalledUntil = performance.now() + 300;
    const issuedAt: number[] = [];
    const stalling: LoadOperation = {
      name: "stall",
      weight: 1,
      run: async () => {
        issuedAt.push(performance.now());
        await sleep(Math.max(0, stalledUntil - performance.now()));
      },
    };
    const result = await runMix([stalling], { ...base, rate: 200, durationMs: 600 });
    const [outcome] = result.operations;
    // Open loop: all 120 requests were issued on schedule, none waited for an answer first.
    expect(outcome!.scheduled).toBe(120);
    expect(outcome!.ok).toBe(120);
    expect(outcome!.notIssued).toBe(0);
    expect(issuedAt.filter((t) => t < stalledUntil).length).toBeGreaterThan(40);
    // The first request waited the whole stall: the latency counts it.
    expect(outcome!.histogram.maxValue).toBeGreaterThanOrEqual(280_000);
    // Half the window was stalled, its requests waiting 0–300 ms: p75 is about 150 ms.
    expect(outcome!.histogram.getValueAtPercentile(75)).toBeGreaterThan(80_000);
    // After the stall the target answers at once: the late half of the window is fast.
    expect(outcome!.histogram.minNonZeroValue).toBeLessThan(50_000);
  });

  it("counts a client that falls behind (a blocked event loop) as latency", async () => {
    let blocked = false;
    const blocking: LoadOperation = {
      name: "block",
      weight: 1,
      run: async (seq) => {
        if (seq === 10 && !blocked) {
          blocked = true;
          const until = performance.now() + 200;
          while (performance.now() < until); // the client's own loop stalls for 200 ms
        }
      },
    };
    const result = await runMix([blocking], { ...base, rate: 100, durationMs: 1000 });
    const [outcome] = result.operations;
    expect(outcome!.ok).toBe(100);
    // ~20 requests came due during the block; each is recorded from its scheduled time.
    expect(outcome!.histogram.getValueAtPercentile(99)).toBeGreaterThanOrEqual(150_000);
    expect(outcome!.histogram.getValueAtPercentile(50)).toBeLessThan(100_000);
  });

  it("does not issue requests beyond maxInFlight, and counts them", async () => {
    const slow: LoadOperation = { name: "slow", weight: 1, run: () => sleep(200) };
    const result = await runMix([slow], { ...base, rate: 200, durationMs: 500, maxInFlight: 5 });
    const [outcome] = result.operations;
    expect(outcome!.scheduled).toBe(100);
    expect(outcome!.notIssued).toBeGreaterThan(50);
    expect(outcome!.ok + outcome!.notIssued).toBe(100);
  });

  it("splits the rate by weight, records errors by gRPC code, and skips the warm-up", async () => {
    const seen = { a: 0, b: 0 };
    const result = await runMix(
      [
        {
          name: "a",
          weight: 3,
          run: async () => {
            seen.a++;
          },
        },
        {
          name: "b",
          weight: 1,
          run: async () => {
            seen.b++;
            throw Object.assign(new Error("8 RESOURCE_EXHAUSTED: overloaded"), { code: 8 });
          },
        },
      ],
      { ...base, rate: 1000, warmupMs: 100, durationMs: 400 },
    );
    const [a, b] = result.operations;
    expect(a!.scheduled + b!.scheduled).toBe(400);
    expect(seen.a + seen.b).toBe(500);
    expect(a!.scheduled / 400).toBeGreaterThan(0.65);
    expect(a!.scheduled / 400).toBeLessThan(0.85);
    expect(b!.errors).toEqual({ RESOURCE_EXHAUSTED: b!.scheduled });
    expect(result.errorSamples.RESOURCE_EXHAUSTED).toContain("overloaded");
    expect(result.timeline.filter((s) => s.operation === "a").reduce((n, s) => n + s.completed, 0)).toBe(
      a!.ok,
    );
  });
});

describe("weightedPicker and errorCode", () => {
  it("draws the same sequence from the same seed, in proportion to the weights", () => {
    const draw = (seed: number) => Array.from({ length: 1000 }, weightedPicker([1, 0.0001, 9], seed));
    expect(draw(7)).toEqual(draw(7));
    const counts = [0, 0, 0];
    for (const index of draw(7)) counts[index]!++;
    expect(counts[2]).toBeGreaterThan(850);
    expect(counts[1]).toBeLessThan(5);
  });

  it("names gRPC codes and calls anything else a client error", () => {
    expect(errorCode({ code: 14 })).toBe("UNAVAILABLE");
    expect(errorCode(new Error("bad response"))).toBe("CLIENT");
    expect(errorCode(undefined)).toBe("CLIENT");
  });
});
