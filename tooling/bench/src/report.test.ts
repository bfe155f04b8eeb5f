import { describe, expect, it } from "vitest";
import {
  type Comparison,
  failedCalls,
  formatJson,
  formatReport,
  median,
  type TargetResult,
} from "./report.js";

const settings = {
  records: 10,
  valueBytes: 100,
  concurrency: 4,
  channels: 2,
  rounds: 2,
  client: "h2",
  durationS: 1,
  warmupS: 0,
  cpus: 2,
};

function target(label: string, rounds: number[], p50: number, cpuUsPerCall?: number): TargetResult {
  return {
    label,
    roundThroughputs: rounds,
    throughput: median(rounds),
    latency: { count: 1000, p50, p90: p50 * 2, p99: p50 * 4, p999: p50 * 8, max: p50 * 10, mean: p50 },
    ...(cpuUsPerCall === undefined ? {} : { serverCpuSeconds: 1, serverCpuUsPerCall: cpuUsPerCall }),
    clientCpuSeconds: 1,
    failures: {},
  };
}

describe("report", () => {
  it("takes the median of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("pairs rounds for the ratio and judges it against the goal", () => {
    const memory: Comparison = {
      title: "memory backend",
      baseline: target("bare grpc-js", [1000, 2000, 1000], 100, 50),
      gateway: target("gateway", [900, 1000, 700], 150, 100),
      goal: 0.8,
    };
    const json = JSON.parse(formatJson(settings, { memory }));
    // Per round 0.9, 0.5, 0.7: the median pair, not the ratio of medians (1000 / 1000).
    expect(json.memory.roundRatios).toEqual([0.9, 0.5, 0.7]);
    expect(json.memory.ratio).toBe(0.7);
    expect(json.memory.pass).toBe(false);
    expect(json.memory.cpuPerCallRatio).toBe(0.5);
    expect(json.memory.addedUs).toEqual({ p50: 50, p90: 100, p99: 200, p999: 400 });
    const text = formatReport(settings, { memory });
    expect(text).toContain("BELOW GOAL");
    expect(text).toContain("+50");
  });

  it("prints no verdict without a goal, and counts failed calls", () => {
    const gateway = { ...target("gateway", [10], 1000), failures: { "14 UNAVAILABLE": 3 } };
    const postgres: Comparison = {
      title: "postgres backend",
      baseline: target("direct pg", [20], 500),
      gateway,
    };
    const text = formatReport(settings, { postgres });
    expect(text).not.toMatch(/PASS|BELOW GOAL/);
    expect(text).toContain("FAILED CALLS gateway: 3 × 14 UNAVAILABLE");
    expect(failedCalls({ postgres })).toBe(3);
  });
});
