import { describe, expect, it } from "vitest";
import { randomIndices } from "./dataset.js";
import {
  formatRecordsJson,
  formatRecordsReport,
  p50Ratios,
  type RecordsResult,
  recordsFailures,
} from "./records-report.js";

const settings = {
  backend: "postgres",
  valueBytes: 100,
  rate: 1000,
  concurrency: 32,
  channels: 4,
  durationS: 10,
  warmupS: 2,
  cpus: 2,
};

function result(
  records: number,
  p50: number,
  how: RecordsResult["preload"]["how"] = "bulk insert",
): RecordsResult {
  return {
    records,
    preload: { how, seconds: records / 50_000 },
    latency: { count: 10_000, p50, p90: p50 * 2, p99: p50 * 4, p999: p50 * 8, max: p50 * 10, mean: p50 },
    cpuPerThousand: 0.4,
    peakRssBytes: 150e6,
    unfinished: 0,
    failures: {},
  };
}

describe("records report", () => {
  it("divides each p50 by the smallest namespace's", () => {
    expect(p50Ratios([result(100_000, 600), result(1000, 400), result(1_000_000, 1000)])).toEqual([
      1.5, 1, 2.5,
    ]);
    expect(p50Ratios([])).toEqual([]);
  });

  it("prints a row per size and a JSON line with the ratios", () => {
    const results = [result(1000, 400, "reused"), result(100_000, 500)];
    const text = formatRecordsReport(settings, results);
    const row = text.split("\n").find((l) => l.startsWith("100,000"))!;
    expect(row.split(/ {2,}/)).toEqual([
      "100,000",
      "bulk insert",
      "2.0",
      "500",
      "1,000",
      "2,000",
      "5,000",
      "0.400",
      "150 MB",
      "1.25×",
    ]);
    const json = JSON.parse(formatRecordsJson(settings, results));
    expect(json.results.map((r: { p50Ratio: number }) => r.p50Ratio)).toEqual([1, 1.25]);
    expect(recordsFailures(results)).toBe(0);
  });

  it("draws the same random records every run, all in range", () => {
    const a = randomIndices(1_000_000, 1000, 7);
    expect(randomIndices(1_000_000, 1000, 7)).toEqual(a);
    expect(a.every((i) => Number.isInteger(i) && i >= 0 && i < 1_000_000)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(990);
    expect(randomIndices(1_000_000, 1000, 8)).not.toEqual(a);
  });
});
