/**
 * Neighbors (1 hop) and Traverse (2 hops) latency of the neptune backend on a generated graph:
 * `npx tsx patterns/neptune/scripts/graph-latency.ts [nodes] [outDegree] [samples]`, against
 * PRISM_TEST_GREMLIN_URL (default: the stack's Gremlin Server). Removes what it wrote.
 */
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import type { GraphBackend, GraphEdge, GraphNode } from "@prism/core";
import gremlin from "gremlin";
import { neptuneDriver } from "../src/index.js";

const [nodeCount = 3000, outDegree = 5, samples = 300] = process.argv.slice(2).map(Number);
const url = process.env.PRISM_TEST_GREMLIN_URL ?? "ws://127.0.0.1:18182/gremlin";
const prefix = `bench${randomBytes(3).toString("hex")}`;
const ns = "latency";

const backend = await neptuneDriver.open({ name: "bench", options: { url, prefix }, dataDir: tmpdir() });
const graph = backend.graph as GraphBackend;
try {
  const ids = Array.from({ length: nodeCount }, (_, i) => `user-${i}`);
  const nodes: GraphNode[] = ids.map((id, i) => ({
    id,
    label: "person",
    properties: { n: BigInt(i), name: id },
  }));
  let started = performance.now();
  for (let i = 0; i < nodes.length; i += 500) await graph.upsertNodes(ns, nodes.slice(i, i + 500), {});
  const nodesMs = Math.round(performance.now() - started);
  const edges: GraphEdge[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const targets = new Set<number>();
    while (targets.size < outDegree) targets.add(Math.floor(Math.random() * nodeCount));
    for (const to of targets) {
      edges.push({ fromId: ids[i] as string, toId: ids[to] as string, label: "knows", properties: { w: 1 } });
    }
  }
  for (let i = 0; i < edges.length; i += 500) await graph.upsertEdges(ns, edges.slice(i, i + 500), {});
  console.log(
    `loaded ${nodeCount} nodes in ${nodesMs} ms, then ${edges.length} edges in ` +
      `${Math.round(performance.now() - started - nodesMs)} ms (calls of 500, traversals of writeBatchSize 100)`,
  );

  const pick = () => ids[Math.floor(Math.random() * nodeCount)] as string;
  const measure = async (name: string, call: () => Promise<number>) => {
    for (let i = 0; i < 30; i++) await call(); // warm-up (JIT on both ends)
    const times: number[] = [];
    let results = 0;
    for (let i = 0; i < samples; i++) {
      started = performance.now();
      results += await call();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) =>
      (times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(2);
    console.log(
      `${name}: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, ${(results / samples).toFixed(1)} results/call`,
    );
  };
  await measure("neighbors 1 hop (both, limit 100)", async () => {
    const page = await graph.neighbors(ns, pick(), { direction: "both", edgeLabels: [], limit: 100 });
    return page.neighbors.length;
  });
  await measure("traverse 2 hops (out, no limit)", async () => {
    const steps = await graph.traverse(ns, pick(), {
      direction: "out",
      maxDepth: 2,
      edgeLabels: [],
      nodeLabels: [],
      limit: 10_000,
      visitBudget: 100_000,
    });
    return steps.length;
  });
  await measure("traverse 2 hops (both, no limit)", async () => {
    const steps = await graph.traverse(ns, pick(), {
      direction: "both",
      maxDepth: 2,
      edgeLabels: [],
      nodeLabels: [],
      limit: 10_000,
      visitBudget: 100_000,
    });
    return steps.length;
  });
} finally {
  await backend.close();
  const connection = new gremlin.driver.DriverRemoteConnection(url, { headers: {} });
  const g = gremlin.process.AnonymousTraversalSource.traversal().withRemote(connection);
  await g.V().hasLabel(prefix).drop().iterate();
  await connection.close();
}
