import { describe, expect, it } from "vitest";
import { generateGraph, maxEdges, nodeId } from "./graph-data.js";
import {
  formatGraphBackend,
  formatGraphGoals,
  formatGraphHeader,
  formatGraphJson,
  type GraphBackendResult,
  type GraphSettings,
  type GraphWindow,
  graphFailures,
  graphGoals,
} from "./graph-report.js";
import { graphBackendsOf } from "./graph-stores.js";

/** Latency percentiles in µs around `p50`. */
const latency = (p50: number, p90 = p50 * 2, p99 = p50 * 3) => ({
  count: 500,
  p50,
  p90,
  p99,
  p999: p99 * 2,
  max: p99 * 3,
  mean: p50,
});
const window = (extra: Partial<GraphWindow> = {}): GraphWindow => ({
  rate: 50,
  callsPerSecond: 50,
  latency: latency(1000),
  resultsPerCall: 19.6,
  limitReached: 0,
  budgetExceeded: 0,
  cpuMsPerThousand: 1234.5,
  benchCpuMsPerThousand: 987.6,
  unfinished: 0,
  failures: {},
  ...extra,
});

const settings: GraphSettings = {
  backends: ["memory", "postgres", "neptune"],
  nodes: 10_000,
  edges: 100_000,
  neptuneNodes: 2000,
  neptuneEdges: 10_000,
  seed: 42,
  batch: 1000,
  rate: 50,
  concurrency: 8,
  durationS: 10,
  warmupS: 2,
  warmCalls: 2000,
  neighborsPage: 100,
  traverseDepth: 2,
  traverseLimit: 1000,
  visitBudget: 1_000_000,
  cpus: 2,
};

const facts = { nodes: 10_000, edges: 100_000, maxOutDegree: 4164, medianOutDegree: 6, hubs: 2 };
const load = {
  gateway: { nodesPerSecond: 7628, edgesPerSecond: 7252, ms: 15_100 },
  direct: { nodesPerSecond: 12_509, edgesPerSecond: 8616, ms: 12_400 },
};

/** A PostgreSQL result whose gateway Neighbors p99 and Traverse p90 are the given ms. */
const postgres = (neighborsP99Ms: number, traverseP90Ms: number): GraphBackendResult => ({
  backend: "postgres",
  graph: facts,
  load,
  queries: [
    {
      query: "neighbors",
      first: "gateway",
      gateway: window({ latency: latency(1500, 3000, neighborsP99Ms * 1000) }),
      direct: window(),
    },
    {
      query: "traverse",
      first: "direct",
      gateway: window({
        latency: latency(5000, traverseP90Ms * 1000, 60_000),
        resultsPerCall: 92,
        limitReached: 8,
        budgetExceeded: 1,
      }),
      direct: window({ resultsPerCall: 92, limitReached: 8, budgetExceeded: 1 }),
    },
  ],
});

describe("graph report", () => {
  it("describes the run: the graph, neptune's smaller one, the load and the queries", () => {
    const header = formatGraphHeader(settings);
    expect(header).toContain("10,000 nodes / 100,000 edges");
    expect(header).toContain("neptune: 2,000 nodes / 10,000 edges (smaller");
    expect(header).toContain("open loop at 50 calls/s");
    expect(header).toContain("max_depth 2, limit 1,000, visit budget 1,000,000");
    expect(formatGraphHeader({ ...settings, neptuneNodes: 10_000, neptuneEdges: 100_000 })).not.toContain(
      "smaller",
    );
    expect(formatGraphHeader({ ...settings, backends: ["postgres"] })).not.toContain("neptune");
  });

  it("prints the load and both queries in the order they ran, in ms", () => {
    const text = formatGraphBackend(postgres(4, 15));
    expect(text).toContain("── postgres ──");
    expect(text).toContain("out-degree max 4,164, median 6, 2 nodes with ≥ 1,000");
    expect(text).toMatch(/gateway\s+7,628\s+7,252\s+15\.1/);
    const rows = text.split("\n");
    const neighbors = rows.findIndex((line) => line.startsWith("1-hop Neighbors"));
    expect(rows[neighbors]).toMatch(
      /gateway\s+50\s+1\.50\s+3\.00\s+4\.00\s+12\.00\s+19\.6\s+0\s+0\s+1,235\s+988$/,
    );
    // Direct rows have no server CPU of their own: the driver runs in the bench process.
    expect(rows[neighbors + 1]).toMatch(/^\s+direct\s+50\s+1\.00\s+2\.00\s+3\.00.*\s—\s+988$/);
    const traverse = rows.findIndex((line) => line.startsWith("2-hop Traverse"));
    expect(rows[traverse]).toMatch(/^2-hop Traverse\s+direct/);
    expect(rows[traverse + 1]).toMatch(/gateway\s+50\s+5\.00\s+15\.00\s+60\.00\s+180\.00\s+92\.0\s+8\s+1\s/);
    expect(text).not.toContain("FAILED");
  });

  it("names failed and unfinished calls, and a backend that was not measured", () => {
    const result = postgres(4, 15);
    const failing: GraphBackendResult = {
      ...result,
      queries: [
        {
          ...result.queries[0]!,
          direct: window({ failures: { "connection reset": 3 }, unfinished: 2 }),
        },
      ],
    };
    const text = formatGraphBackend(failing);
    expect(text).toContain("FAILED CALLS (neighbors direct): 3 × connection reset");
    expect(text).toContain("UNFINISHED CALLS (neighbors direct): 2");
    expect(graphFailures([failing])).toBe(5);

    const down: GraphBackendResult = { backend: "neptune", queries: [], error: "connect ECONNREFUSED" };
    expect(formatGraphBackend(down)).toContain("NOT MEASURED: connect ECONNREFUSED");
    expect(graphFailures([down, postgres(4, 15)])).toBe(1);
  });

  it("judges the PostgreSQL goals through the gateway, never the direct baseline", () => {
    expect(graphGoals([postgres(5, 20)]).map((g) => g.met)).toEqual([true, true]);
    const below = graphGoals([postgres(5.5, 21)]);
    expect(below.map((g) => g.met)).toEqual([false, false]);
    expect(below[0]!.text).toContain("p99 5.50 ms (goal ≤ 5 ms) (10,000 nodes / 100,000 edges)");
    expect(below[1]!.text).toContain("p90 21.00 ms (goal ≤ 20 ms)");
    const goals = formatGraphGoals([postgres(4, 25)]);
    expect(goals).toContain("PASS        postgres 1-hop Neighbors");
    expect(goals).toContain("BELOW GOAL  postgres 2-hop Traverse");
    // Other backends have no goals.
    expect(graphGoals([{ ...postgres(9, 99), backend: "memory" }])).toEqual([]);
    expect(formatGraphGoals([])).toBe("");
  });

  it("writes one JSON line with the settings, every window and the goals", () => {
    const line = formatGraphJson(settings, [postgres(4, 15)]);
    expect(line).not.toContain("\n");
    const json = JSON.parse(line);
    expect(json.bench).toBe("graph");
    expect(json.settings.visitBudget).toBe(1_000_000);
    expect(json.results[0].queries[1].gateway.budgetExceeded).toBe(1);
    expect(json.results[0].queries[0].gateway.cpuMsPerThousand).toBe(1234.5);
    expect(json.goals).toHaveLength(2);
  });
});

describe("graph generator", () => {
  it("is deterministic, with unique edges between existing nodes and skewed out-degrees", () => {
    const shape = { nodes: 2000, edges: 20_000, seed: 7 };
    const graph = generateGraph(shape);
    expect(generateGraph(shape).edges).toEqual(graph.edges);
    expect(generateGraph({ ...shape, seed: 8 }).edges).not.toEqual(graph.edges);
    expect(graph.nodes).toHaveLength(2000);
    expect(graph.edges).toHaveLength(20_000);
    const ids = new Set(graph.nodes.map((n) => n.id));
    expect(graph.edges.every((e) => ids.has(e.fromId) && ids.has(e.toId))).toBe(true);
    expect(new Set(graph.edges.map((e) => `${e.fromId} ${e.toId} ${e.label}`)).size).toBe(20_000);
    // A power law: the biggest hub has far more edges than the median node.
    expect(graph.maxOutDegree).toBeGreaterThan(50 * graph.medianOutDegree);
    expect(graph.medianOutDegree).toBeLessThan(20);
    expect(graph.edges.filter((e) => e.fromId === nodeId(0))).toHaveLength(graph.maxOutDegree);
  });

  it("refuses a graph that cannot hold its edges", () => {
    expect(() => generateGraph({ nodes: 10, edges: maxEdges(10) + 1, seed: 1 })).toThrow("at most");
  });

  it("measures only the Graph backends registered", () => {
    expect(graphBackendsOf(["kafka", "postgres", "memory"])).toEqual(["memory", "postgres"]);
  });
});
