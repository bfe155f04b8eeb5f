import { type Direction, type GraphBackend, type GraphEdge, type GraphNode, isPrismError } from "@prism/core";
import { freshNamespace, graphConformance } from "@prism/core/conformance";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGraphStatements } from "./graph-sql.js";
import { adminClient, freshSchema, openTestBackend, rejection } from "./test-support.js";

graphConformance({ name: "postgres", open: () => openTestBackend() });

const traverseAll = {
  direction: "out" as Direction,
  edgeLabels: [] as string[],
  nodeLabels: [] as string[],
  limit: 100_000,
};
const node = (id: string): GraphNode => ({ id, label: "n", properties: {} });
const edge = (fromId: string, toId: string): GraphEdge => ({ fromId, toId, label: "e", properties: {} });

/** Every node of a complete directed graph on `size` nodes: size × (size − 1) edges. */
async function loadComplete(graph: GraphBackend, ns: string, size: number): Promise<void> {
  const ids = Array.from({ length: size }, (_, i) => `v${i}`);
  await graph.upsertNodes(ns, ids.map(node), {});
  const edges = ids.flatMap((from) => ids.filter((to) => to !== from).map((to) => edge(from, to)));
  for (let i = 0; i < edges.length; i += 1000) await graph.upsertEdges(ns, edges.slice(i, i + 1000), {});
}

/** The plan nodes of an EXPLAIN (FORMAT JSON) result, flattened. */
function planNodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...children.flatMap(planNodes)];
}

describe("postgres graph", () => {
  let admin: Client;
  const schemas: string[] = [];
  const open = async (name = "pg-graph") => {
    const schema = freshSchema();
    schemas.push(schema);
    return { schema, backend: await openTestBackend({ schema }, name) };
  };
  /** Runs EXPLAIN (ANALYZE, FORMAT JSON) of a statement with its values, generic or custom plan. */
  const explain = async (text: string, values: unknown[], generic: boolean) => {
    await admin.query(`SET plan_cache_mode = ${generic ? "force_generic_plan" : "auto"}`);
    const { rows } = await admin.query({ text: `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values });
    return planNodes((rows[0]["QUERY PLAN"] as { Plan: Record<string, unknown> }[])[0]!.Plan);
  };

  beforeAll(async () => {
    admin = await adminClient();
  });
  afterAll(async () => {
    for (const name of schemas) await admin?.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    await admin?.end();
  });

  it("reads both-direction neighbors as two index range scans merged in order, never a sort of the node's edges", async () => {
    const { schema, backend } = await open();
    const graph = backend.graph!;
    const ns = freshNamespace();
    const others = Array.from({ length: 400 }, (_, i) => node(`o${String(i).padStart(3, "0")}`));
    await graph.upsertNodes(ns, [node("hub"), ...others], {});
    await graph.upsertEdges(
      ns,
      others.map((o) => edge("hub", o.id)),
      {},
    );
    await graph.upsertEdges(
      ns,
      others.filter((_, i) => i % 2 === 0).map((o) => edge(o.id, "hub")),
      {},
    );
    await admin.query(`ANALYZE "${schema}".graph_edges`);
    const sql = buildGraphStatements(schema);
    for (const generic of [false, true]) {
      const plan = await explain(sql.neighbors.both.text, [ns, "hub", "o100", "e", 1, [], 10], generic);
      const scans = plan.filter((p) => String(p["Node Type"]).includes("Index"));
      const edgeScans = scans.filter((p) => p["Relation Name"] === "graph_edges");
      expect(edgeScans.map((p) => p["Index Name"]).sort()).toEqual(["graph_edges_in", "graph_edges_pkey"]);
      expect(plan.some((p) => p["Node Type"] === "Merge Append")).toBe(true);
      // Keyset paging: the scans start at the cursor and stop after the page (+1, + the tie).
      for (const scan of edgeScans) expect(scan["Actual Rows"] as number).toBeLessThanOrEqual(12);
    }
    const page = await graph.neighbors(ns, "hub", {
      direction: "both",
      edgeLabels: [],
      limit: 3,
      after: { nodeId: "o100", label: "e", direction: "out" },
    });
    expect(page.neighbors.map((n) => `${n.direction} ${n.node.id}`)).toEqual([
      "in o100",
      "out o101",
      "out o102",
    ]);
    await backend.close();
  });

  it("stops a traversal at the visit budget on a dense graph, having read at most budget + 1 edges", async () => {
    const { schema, backend } = await open();
    const graph = backend.graph!;
    const ns = freshNamespace();
    await loadComplete(graph, ns, 40);
    const error = await rejection(
      graph.traverse(ns, "v0", { ...traverseAll, direction: "both", maxDepth: 5, visitBudget: 100 }),
    );
    expect(isPrismError(error, "ResourceExhausted") && error.reason).toBe("TRAVERSAL_BUDGET_EXCEEDED");
    // In the database: the edge index scans of the whole recursive query return budget + 1 rows
    // (loops × rows per loop, which EXPLAIN rounds), not the 3,120 a full BFS would read.
    const sql = buildGraphStatements(schema);
    const values = [ns, "v0", 5, [], 100, [], 100_000];
    for (const generic of [false, true]) {
      const plan = await explain(sql.traverse.both.text, values, generic);
      const edgeRows = plan
        .filter((p) => p["Relation Name"] === "graph_edges")
        .reduce((sum, p) => sum + (p["Actual Rows"] as number) * (p["Actual Loops"] as number), 0);
      expect(edgeRows).toBeGreaterThan(90);
      expect(edgeRows).toBeLessThanOrEqual(101 + 2);
    }
    // A budget that covers the whole graph (40 × 39 edges, each examined from both ends) is enough.
    const steps = await graph.traverse(ns, "v0", {
      ...traverseAll,
      direction: "both",
      maxDepth: 5,
      visitBudget: 3120,
    });
    expect(steps).toHaveLength(40);
    await backend.close();
  });

  it("a traversal cancelled by its signal stops on the server, not only in the gateway", async () => {
    const { schema, backend } = await open("pg-graph-cancel");
    const graph = backend.graph!;
    const ns = freshNamespace();
    await loadComplete(graph, ns, 5);
    const blocker = await adminClient();
    const running = async () =>
      Number(
        (
          await admin.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'prism:pg-graph-cancel' AND state = 'active'",
          )
        ).rows[0].n,
      );
    try {
      // An exclusive lock holds the traversal's statement on the server until it is cancelled.
      await blocker.query("BEGIN");
      await blocker.query(`LOCK TABLE "${schema}".graph_edges IN ACCESS EXCLUSIVE MODE`);
      const controller = new AbortController();
      const pending = rejection(
        graph.traverse(ns, "v0", {
          ...traverseAll,
          maxDepth: 3,
          visitBudget: 1000,
          signal: controller.signal,
        }),
      );
      await expect.poll(running, { timeout: 5000, interval: 50 }).toBe(1);
      controller.abort();
      expect(isPrismError(await pending, "Cancelled")).toBe(true);
      // Gone while the lock is still held: the server cancelled it.
      await expect.poll(running, { timeout: 5000, interval: 50 }).toBe(0);
    } finally {
      await blocker.query("ROLLBACK");
      await blocker.end();
    }
    expect((await graph.traverse(ns, "v0", { ...traverseAll, maxDepth: 1, visitBudget: 1000 })).length).toBe(
      5,
    );
    await backend.close();
  });

  it("refuses an edge to a node deleted concurrently (the foreign key), naming the node", async () => {
    const { schema, backend } = await open();
    const graph = backend.graph!;
    const ns = freshNamespace();
    await graph.upsertNodes(ns, [node("a"), node("b")], {});
    const blocker = await adminClient();
    try {
      // The delete is not committed when the upsert's check runs: the check sees "b", the
      // foreign key waits for the delete, then refuses; the retry reports "b".
      await blocker.query("BEGIN");
      await blocker.query(`DELETE FROM "${schema}".graph_nodes WHERE namespace = $1 AND id = 'b'`, [ns]);
      const pending = rejection(graph.upsertEdges(ns, [edge("a", "b")], {}));
      await new Promise((resolve) => setTimeout(resolve, 200));
      await blocker.query("COMMIT");
      const error = await pending;
      expect(isPrismError(error, "FailedPrecondition") && error.metadata).toEqual({ node_id: "b" });
    } finally {
      await blocker.end();
    }
    expect(
      (await graph.neighbors(ns, "a", { direction: "both", edgeLabels: [], limit: 10 })).neighbors,
    ).toEqual([]);
    await backend.close();
  });

  it("migrates a schema at version 2 (KeyValue and TimeSeries) to version 3", async () => {
    const { schema, backend } = await open();
    await backend.close();
    await admin.query(`DROP TABLE "${schema}".graph_edges, "${schema}".graph_nodes`);
    await admin.query(`DELETE FROM "${schema}".schema_version WHERE version = 3`);
    const reopened = await openTestBackend({ schema });
    const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_version ORDER BY version`);
    expect(rows).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
    const ns = freshNamespace();
    expect(await reopened.graph!.upsertNodes(ns, [node("a")], {})).toBe(1);
    await reopened.close();
  });
});
