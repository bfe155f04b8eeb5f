import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadScenario, ScenarioError, validateScenario } from "./scenario.js";

const SCENARIOS = join(import.meta.dirname, "../scenarios");

function problemsOf(input: unknown): string[] {
  try {
    validateScenario(input);
  } catch (error) {
    if (error instanceof ScenarioError) return error.problems;
    throw error;
  }
  throw new Error("the scenario was accepted");
}

describe("scenario", () => {
  it("reports every problem at once, each with its path", () => {
    const problems = problemsOf({
      name: "has spaces",
      rate: 0,
      durationSeconds: 100_000,
      connections: 65,
      surprise: true,
      target: { address: "no-port" },
      operations: [
        { op: "kv.get", keys: 0, valueBytes: 2 << 20 },
        { op: "kv.teleport" },
        { op: "ts.write", batchSize: 5000, typo: 1 },
        { op: "graph.traverse", depth: 0 },
      ],
    });
    const expected = [
      "name:",
      "rate:",
      "durationSeconds:",
      "connections:",
      '(scenario): Unrecognized key: "surprise"',
      "target",
      "operations.0.keys:",
      "operations.0.valueBytes:",
      "operations.1.op: expected one of kv.put",
      "operations.2.batchSize:",
      '"typo"',
      "operations.3.depth:",
    ];
    for (const fragment of expected) expect(problems.join("\n")).toContain(fragment);
    expect(problems.length).toBeGreaterThanOrEqual(expected.length);
  });

  it("bounds the sizes", () => {
    expect(problemsOf({ name: "x", rate: 1e6, durationSeconds: 1, operations: [{ op: "kv.get" }] })).toEqual([
      "rate: Too big: expected number to be <=50000",
    ]);
    const many = Array.from({ length: 33 }, (_, i) => ({ op: "kv.get", name: `get-${i}` }));
    expect(problemsOf({ name: "x", rate: 1, durationSeconds: 1, operations: many })[0]).toMatch(
      /^operations:/,
    );
    expect(problemsOf({ name: "x", rate: 1, durationSeconds: 1, operations: [] })[0]).toMatch(/^operations:/);
  });

  it("wants distinct names for operations of the same kind", () => {
    expect(
      problemsOf({
        name: "x",
        rate: 1,
        durationSeconds: 1,
        operations: [{ op: "kv.get" }, { op: "kv.get" }],
      }),
    ).toEqual(["operations.1.name: duplicate operation name kv.get (give each a distinct name)"]);
  });

  it("fills defaults: the embedded default gateway and its demo namespaces", () => {
    const scenario = validateScenario({
      name: "x",
      rate: 10,
      durationSeconds: 1,
      operations: [{ op: "kv.put" }, { op: "ts.read" }, { op: "graph.neighbors" }],
    });
    expect(scenario.target).toEqual({ gateway: {} });
    expect(scenario.operations.map((op) => op.namespace)).toEqual(["demo-kv", "demo-ts", "demo-graph"]);
    expect(scenario.tolerance).toBe(0.25);
  });

  it("resolves a gateway config against the scenario's directory", () => {
    const scenario = validateScenario(
      {
        name: "x",
        rate: 1,
        durationSeconds: 1,
        target: { gateway: { config: "gw.yaml" } },
        operations: [{ op: "kv.get" }],
      },
      "/some/dir",
    );
    expect(scenario.target).toEqual({ gateway: { config: "/some/dir/gw.yaml" } });
  });

  it("accepts the shipped example scenarios", () => {
    const files = readdirSync(SCENARIOS).filter((file) => file.endsWith(".yaml"));
    expect(files).toEqual(expect.arrayContaining(["mixed.yaml", "smoke.yaml"]));
    for (const file of files) {
      const scenario = loadScenario(join(SCENARIOS, file));
      expect(new Set(scenario.operations.map((op) => op.op.split(".")[0]))).toEqual(
        new Set(["kv", "ts", "graph"]),
      );
    }
  });

  it("reports an unreadable or malformed file as a scenario problem", () => {
    expect(() => loadScenario("/nonexistent/scenario.yaml")).toThrow(ScenarioError);
  });
});
