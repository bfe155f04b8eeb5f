import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Comparable, compareToBaseline, formatComparison, readBaseline } from "./baseline.js";

const result = (ops: Record<string, [p99: number, throughput: number]>): Comparable => ({
  scenario: "s",
  operations: Object.fromEntries(
    Object.entries(ops).map(([name, [p99, throughput]]) => [name, { throughput, latencyMs: { p99 } }]),
  ),
});

describe("compareToBaseline", () => {
  const baseline = result({ "kv.get": [2, 500], "ts.write": [10, 100] });

  it("passes a run within the tolerance", () => {
    const comparisons = compareToBaseline(
      result({ "kv.get": [2.4, 480], "ts.write": [9, 101] }),
      baseline,
      0.25,
    );
    expect(comparisons.flatMap((c) => c.regressions)).toEqual([]);
    expect(formatComparison(comparisons, 0.25, "base.json")).toContain("no regression");
  });

  it("flags a slower p99, a lower throughput and a missing operation", () => {
    const comparisons = compareToBaseline(
      result({ "kv.get": [2.6, 370], "graph.new": [1, 1] }),
      baseline,
      0.25,
    );
    expect(Object.fromEntries(comparisons.map((c) => [c.operation, c.regressions]))).toEqual({
      "kv.get": ["p99 2.6 ms > 2.5 ms", "throughput 370/s < 375/s"],
      "ts.write": ["missing from this run"],
      "graph.new": [],
    });
    expect(formatComparison(comparisons, 0.25, "base.json")).toContain("2 operation(s) regressed");
  });
});

describe("readBaseline", () => {
  it("reads a result.json and rejects anything else clearly", () => {
    const dir = mkdtempSync(join(tmpdir(), "loadtest-baseline-"));
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ ...result({ "kv.get": [1, 2] }), extra: true }));
    expect(readBaseline(good).operations["kv.get"]?.latencyMs.p99).toBe(1);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ operations: { "kv.get": { throughput: "fast" } } }));
    expect(() => readBaseline(bad)).toThrow(/is not a loadtest result.json[\s\S]*scenario[\s\S]*throughput/);
    expect(() => readBaseline(join(dir, "missing.json"))).toThrow(/baseline .*missing.json/);
  });
});
