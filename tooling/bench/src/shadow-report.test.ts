import { describe, expect, it } from "vitest";
import type { TargetResult } from "./report.js";
import {
  type BackfillResult,
  backfillRates,
  formatShadowJson,
  formatShadowReport,
  meetsShadowGoal,
  type ShadowVariantResult,
  shadowDelta,
  shadowFailures,
} from "./shadow-report.js";

const settings = {
  primary: "postgres",
  shadow: "nats",
  records: 1000,
  valueBytes: 100,
  concurrency: 32,
  channels: 4,
  rounds: 3,
  client: "h2",
  durationS: 10,
  warmupS: 3,
  cpus: 2,
};

/** Latency in µs: p99 is four times p50. */
function target(label: string, rounds: number[], p50: number): TargetResult {
  const sorted = [...rounds].sort((a, b) => a - b);
  return {
    label,
    roundThroughputs: rounds,
    throughput: sorted[sorted.length >> 1]!,
    latency: { count: 1000, p50, p90: p50 * 2, p99: p50 * 4, p999: p50 * 8, max: p50 * 10, mean: p50 },
    clientCpuSeconds: 1,
    failures: {},
  };
}

const counters = {
  writesOk: 90_000,
  writesFailed: 0,
  writesDropped: 0,
  readsMatched: 0,
  readsMismatched: 0,
  readsSkipped: 0,
  queueDepth: 0,
};

function variants(dualPut: TargetResult, dualDropped = 0): ShadowVariantResult[] {
  return [
    {
      key: "off",
      label: "shadow off",
      put: target("shadow off", [1000, 1000, 1000], 2000),
      get: target("shadow off", [2000, 2000, 2000], 1000),
    },
    {
      key: "dual-write",
      label: "dual-write",
      put: dualPut,
      get: target("dual-write", [1960, 2000, 1900], 1025),
      counters: { ...counters, writesDropped: dualDropped },
      drainSeconds: 0.4,
    },
    {
      key: "shadow-read",
      label: "shadow-read, sample 1",
      put: target("shadow-read, sample 1", [900, 950, 920], 2200),
      get: target("shadow-read, sample 1", [1500, 1600, 1400], 1500),
      counters: { ...counters, readsMatched: 40_000, readsSkipped: 12 },
      drainSeconds: 0.5,
    },
  ];
}

const backfill: BackfillResult = {
  primary: "postgres",
  shadow: "nats",
  records: 20_000,
  valueBytes: 100,
  load: { how: "bulk insert", seconds: 0.8 },
  maxRecordsPerSecond: 1_000_000,
  maxBytesPerSecond: 2 ** 30,
  state: "succeeded",
  recordsCopied: 20_000,
  bytesCopied: 2_000_000,
  elapsedS: 4,
  jobRecordsPerSecond: 5200,
  jobBytesPerSecond: 520_000,
};

describe("shadow report", () => {
  it("pairs rounds for the ratio and gives added latency in ms", () => {
    const delta = shadowDelta(target("b", [900, 500, 700], 2100), target("a", [1000, 1000, 1000], 2000));
    expect(delta.roundRatios).toEqual([0.9, 0.5, 0.7]);
    expect(delta.ratio).toBe(0.7);
    expect(delta.p50AddedMs).toBeCloseTo(0.1);
    expect(delta.p99AddedMs).toBeCloseTo(0.4);
  });

  it("judges the goal at its edges: p99 +0.5 ms and 0.9× pass, beyond either misses", () => {
    expect(meetsShadowGoal({ ratio: 0.9, p99AddedMs: 0.5 })).toBe(true);
    expect(meetsShadowGoal({ ratio: 0.89, p99AddedMs: 0 })).toBe(false);
    expect(meetsShadowGoal({ ratio: 1.2, p99AddedMs: 0.51 })).toBe(false);
    expect(meetsShadowGoal({ ratio: 1, p99AddedMs: -3 })).toBe(true);
  });

  it("passes dual-write when Put and Get both keep the goal", () => {
    // Put: 0.95× and p99 +0.4 ms; Get: 0.98× and p99 +0.1 ms.
    const all = variants(target("dual-write", [950, 960, 940], 2100));
    const text = formatShadowReport(settings, all, backfill);
    expect(text).toMatch(
      /Put PASS \(0\.95×, p99 \+0\.40 ms\), Get PASS \(0\.98×, p99 \+0\.10 ms\) {2}→ {2}PASS/,
    );
    const putRow = text
      .split("\n")
      .filter((l) => l.startsWith("  dual-write"))[0]!
      .trim();
    expect(putRow.split(/ {2,}/)).toEqual([
      "dual-write",
      "950",
      "950 960 940",
      "2.10",
      "8.40",
      "16.80",
      "21.00",
      "0.95×",
      "+0.40",
      "+0.10",
    ]);
    const json = JSON.parse(formatShadowJson(settings, all, backfill));
    expect(json.goal).toMatchObject({ put: true, get: true, pass: true, maxP99AddedMs: 0.5 });
    expect(json.vsOff["shadow-read"].get.ratio).toBe(0.75);
    expect(json.variants["dual-write"].counters.writesOk).toBe(90_000);
    expect(shadowFailures(all, backfill)).toBe(0);
  });

  it("misses on a slow Put and shows dropped mirrored writes", () => {
    const all = variants(target("dual-write", [800, 850, 900], 2500), 1234);
    const text = formatShadowReport(settings, all);
    expect(text).toContain("Put MISS (0.85×, p99 +2.00 ms)");
    expect(text).toMatch(/→ {2}MISS/);
    expect(text).toContain("DROPPED: dual-write dropped 1,234 mirrored writes");
    const counterRow = text.split("\n").find((l) => l.startsWith("  dual-write") && l.includes("drain"))!;
    expect(counterRow.trim().split(/ {2,}/)).toEqual([
      "dual-write",
      "90,000",
      "0",
      "1,234",
      "0",
      "0",
      "0",
      "drain waits 0.4 s",
    ]);
    expect(JSON.parse(formatShadowJson(settings, all)).goal.pass).toBe(false);
  });

  it("reports the backfill in rows/s and MB/s, and counts a failed one and failed calls", () => {
    expect(backfillRates(backfill)).toEqual({ rowsPerSecond: 5000, mbPerSecond: 0.5 });
    const text = formatShadowReport(settings, variants(target("dual-write", [1000], 2000)), backfill);
    expect(text).toContain("20,000 records, 2.00 MB in 4.00 s");
    expect(text).toContain("5,000 rows/s, 0.50 MB/s");
    expect(text).toContain("own last reported rate: 5,200 rows/s, 0.52 MB/s");
    const quick = { ...backfill, jobRecordsPerSecond: 0, jobBytesPerSecond: 0 };
    expect(formatShadowReport(settings, [], quick)).toContain("the job reported no rate of its own");
    const json = JSON.parse(formatShadowJson(settings, [], backfill));
    expect(json.backfill).toMatchObject({ rowsPerSecond: 5000, mbPerSecond: 0.5 });
    expect(json.goal).toBeUndefined();

    const failed = { ...backfill, state: "failed", error: "shadow unavailable" };
    expect(formatShadowReport(settings, [], failed)).toContain("BACKFILL FAILED: shadow unavailable");
    const broken = variants(target("dual-write", [1000], 2000));
    broken[0] = { ...broken[0]!, get: { ...broken[0]!.get, failures: { "14 UNAVAILABLE": 2 } } };
    expect(shadowFailures(broken, failed)).toBe(3);
    expect(formatShadowReport(settings, broken)).toContain("FAILED CALLS shadow off get: 2 × 14 UNAVAILABLE");
  });
});
