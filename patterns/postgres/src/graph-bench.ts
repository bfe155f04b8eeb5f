/**
 * Graph latency at low load on the PostgreSQL backend (ADR-0014): loads a skewed graph of 10,000
 * nodes and 100,000 edges (out-degree by a power law, targets uniform) into a fresh schema, then
 * times 1-hop Neighbors (both directions, a page of 100) and 2-hop Traverse (out, limit 1000,
 * budget 100,000) from random start nodes, one call at a time, and prints p50/p90/p99 and the
 * EXPLAIN ANALYZE of both statements from the biggest hub.
 *
 * Run: `eval "$(pnpm -s stack env)" && npx tsx patterns/postgres/src/graph-bench.ts`
 */
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { performance } from "node:perf_hooks";
import type { GraphEdge, GraphNode } from "@prism/core";
import { Client } from "pg";
import { buildGraphStatements } from "./graph-sql.js";
import { postgresDriver } from "./postgres-driver.js";

/** The stack's server (test-support.ts imports vitest, so it is not used here). */
const URL = process.env.PRISM_TEST_POSTGRES_URL ?? "postgres://prism:prism@127.0.0.1:15432/prism";

const NODES = 10_000;
const EDGES = 100_000;
const CALLS = 2000;

/** Deterministic pseudo-random numbers (mulberry32), so every run loads the same graph. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function main(): Promise<void> {
  const schema = `prism_bench_${randomBytes(4).toString("hex")}`;
  const backend = await postgresDriver.open({
    name: "pg-graph-bench",
    options: { url: URL, schema },
    dataDir: tmpdir(),
  });
  const admin = new Client({ connectionString: URL });
  await admin.connect();
  const graph = backend.graph!;
  const ns = "bench";
  const next = random(42);
  const id = (i: number) => `node-${i}`;
  try {
    const nodes: GraphNode[] = Array.from({ length: NODES }, (_, i) => ({
      id: id(i),
      label: i % 3 === 0 ? "person" : "item",
      properties: { rank: BigInt(i), score: next() },
    }));
    for (let i = 0; i < NODES; i += 1000) await graph.upsertNodes(ns, nodes.slice(i, i + 1000), {});
    const seen = new Set<string>();
    const edges: GraphEdge[] = [];
    while (edges.length < EDGES) {
      const from = Math.floor(NODES * next() ** 3);
      const to = Math.floor(NODES * next());
      const label = next() < 0.5 ? "knows" : "likes";
      const key = `${from} ${to} ${label}`;
      if (seen.has(key)) continue;
      seen.add(key);
      edges.push({ fromId: id(from), toId: id(to), label, properties: { weight: next() } });
    }
    const loadStarted = performance.now();
    for (let i = 0; i < EDGES; i += 1000) await graph.upsertEdges(ns, edges.slice(i, i + 1000), {});
    const loadMs = performance.now() - loadStarted;
    console.log(`loaded ${NODES} nodes, ${EDGES} edges (edges: ${Math.round(EDGES / (loadMs / 1000))}/s)`);
    await admin.query(`VACUUM ANALYZE "${schema}".graph_nodes, "${schema}".graph_edges`);

    const time = async (name: string, call: (start: string) => Promise<unknown>) => {
      for (let i = 0; i < 200; i++) await call(id(Math.floor(NODES * next())));
      const samples: number[] = [];
      for (let i = 0; i < CALLS; i++) {
        const start = id(Math.floor(NODES * next()));
        const started = performance.now();
        await call(start);
        samples.push(performance.now() - started);
      }
      samples.sort((a, b) => a - b);
      const ms = (p: number) => percentile(samples, p).toFixed(2);
      console.log(`${name}: p50 ${ms(0.5)} ms, p90 ${ms(0.9)} ms, p99 ${ms(0.99)} ms, max ${ms(1)} ms`);
    };
    const neighbors = { direction: "both", edgeLabels: [], limit: 100 } as const;
    const traverse = {
      direction: "out",
      maxDepth: 2,
      edgeLabels: [],
      nodeLabels: [],
      limit: 1000,
      visitBudget: 100_000,
    } as const;
    await time("1-hop Neighbors (both, page 100)", (start) =>
      graph.neighbors(ns, start, { ...neighbors, edgeLabels: [] }),
    );
    await time("2-hop Traverse (out, limit 1000)", (start) =>
      graph.traverse(ns, start, { ...traverse, edgeLabels: [], nodeLabels: [] }),
    );
    await time("2-hop Traverse (both, limit 1000)", (start) =>
      graph.traverse(ns, start, { ...traverse, direction: "both", edgeLabels: [], nodeLabels: [] }),
    );

    const sql = buildGraphStatements(schema);
    for (const [name, text, values] of [
      ["Neighbors from the hub", sql.neighbors.both.text, [ns, id(0), "", "", 0, [], 100]],
      ["2-hop Traverse from the hub", sql.traverse.out.text, [ns, id(0), 2, [], 100_000, [], 1000]],
      ["2-hop Traverse from a median node", sql.traverse.out.text, [ns, id(5000), 2, [], 100_000, [], 1000]],
    ] as const) {
      const { rows } = await admin.query({ text: `EXPLAIN (ANALYZE, BUFFERS) ${text}`, values: [...values] });
      console.log(`\n${name}:\n${rows.map((row) => row["QUERY PLAN"]).join("\n")}`);
    }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
    await backend.close();
  }
}

await main();
