import { describe, expect, it } from "vitest";
import {
  formatGoals,
  formatRateJson,
  formatRateReport,
  judgeGoals,
  type RateTargetResult,
  type RateTargets,
  rateFailures,
} from "./latency-report.js";

const settings = {
  rate: 1000,
  records: 1000,
  valueBytes: 1024,
  concurrency: 32,
  channels: 4,
  client: "h2",
  rounds: 2,
  durationS: 15,
  warmupS: 3,
  loopResolutionMs: 2,
  cpus: 2,
};

function target(
  label: string,
  p50: number,
  p99: number,
  extra: Partial<RateTargetResult> = {},
): RateTargetResult {
  return {
    label,
    latency: { count: 30_000, p50, p90: p50 * 2, p99, p999: p99 * 2, max: p99 * 3, mean: p50 },
    rounds: [
      { p50, p99 },
      { p50: p50 + 10, p99: p99 + 100 },
    ],
    sendLagP99: 40,
    achievedRate: 1000,
    clientCpuPerThousand: 0.2,
    unfinished: 0,
    failures: {},
    ...extra,
  };
}

const loopDelay = {
  resolutionMs: 2,
  samples: 15_000,
  p50: 120,
  p99: 2500,
  max: 9000,
  gcPerWindow: 12,
  gcMsPerWindow: 20,
  gcMaxMs: 3.5,
};

const targets: RateTargets = {
  bare: target("bare grpc-js", 500, 2000, { cpuPerThousand: 0.28, peakRssBytes: 100e6 }),
  gatewayMemory: target("gateway (memory)", 550, 2300, {
    cpuPerThousand: 0.3,
    peakRssBytes: 130e6,
    loopDelay,
  }),
  gatewayPostgres: target("gateway (postgres)", 1000, 4000, {
    cpuPerThousand: 0.5,
    peakRssBytes: 130e6,
    loopDelay,
  }),
  directPg: target("direct pg", 600, 2500),
};

describe("rate report", () => {
  it("judges every goal of issue 7 against the same run", () => {
    const goals = judgeGoals(targets);
    expect(goals.map((g) => [g.name, g.pass])).toEqual([
      ["gateway (memory) p99", true], // 2300 ≤ 1.2 × 2000
      ["gateway (memory) CPU per 1k calls/s", true], // 0.30 ≤ 1.15 × 0.28 = 0.322
      ["gateway (postgres) p99", false], // 4000 > 2500 + 1000
      ["gateway (postgres) p50", false], // 1000 > 600 + 300
      ["gateway peak RSS", false], // 130 MB > 120 MB
    ]);
    expect(goals[0]!.limit).toBe(2400);
    expect(goals[2]!.limit).toBe(3500);
    expect(goals[4]!.value).toBe(130);
  });

  it("judges only the memory goals without postgres", () => {
    const { gatewayPostgres: _, directPg: __, ...memory } = targets;
    expect(judgeGoals(memory).map((g) => g.name)).toEqual([
      "gateway (memory) p99",
      "gateway (memory) CPU per 1k calls/s",
      "gateway peak RSS",
    ]);
  });

  it("prints PASS and BELOW GOAL with value and limit", () => {
    const lines = formatGoals(judgeGoals(targets));
    expect(lines[0]).toMatch(
      /^ {2}PASS +gateway \(memory\) p99 +2,300 µs +≤ 2,400 µs +\(1\.2 × bare p99 \(2,000 µs\)\)$/,
    );
    expect(lines[3]).toContain("BELOW GOAL");
    expect(lines[3]).toContain("≤ 900 µs");
  });

  it("prints one row per target with the loop delay, and a JSON line", () => {
    const text = formatRateReport(settings, targets);
    const row = text.split("\n").find((l) => l.startsWith("gateway (memory)"))!;
    expect(row.split(/ {2,}/)).toEqual([
      "gateway (memory)",
      "550",
      "1,100",
      "2,300",
      "4,600",
      "6,900",
      "550/2,300 560/2,400",
      "1,000",
      "0.300",
      "130 MB",
      "120",
      "2,500",
      "9,000",
      "12, 3.5 ms",
      "40",
    ]);
    expect(text.split("\n").find((l) => l.startsWith("direct pg"))).toContain("—");
    const json = JSON.parse(formatRateJson(settings, targets));
    expect(json.mode).toBe("rate");
    expect(json.targets.gatewayMemory.loopDelay.p99).toBe(2500);
    expect(json.goals).toHaveLength(5);
  });

  it("counts failed and unfinished calls", () => {
    const failing = {
      ...targets,
      directPg: target("direct pg", 600, 2500, { failures: { boom: 2 }, unfinished: 1 }),
    };
    expect(rateFailures(targets)).toBe(0);
    expect(rateFailures(failing)).toBe(3);
    expect(formatRateReport(settings, failing)).toContain("FAILED CALLS direct pg: 2 × boom");
  });
});
