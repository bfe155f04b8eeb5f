import { beforeEach, describe, expect, it } from "vitest";
import type { GraphBackend, GraphEdge, GraphNode } from "../graph.js";
import { freshNamespace } from "./fixtures.js";
import {
  edge,
  expectedNeighbors,
  expectPrismError,
  type GraphSuiteContext,
  neighborKey,
  neighborPages,
  neighborsOptions,
  node,
  nodeView,
} from "./graph-fixtures.js";

/** Ids whose UTF-8 byte order differs from locale order ("B" < "a") and from UTF-16 order (U+FFFD < 😀). */
export const IDS_IN_BYTE_ORDER = ["B", "Z", "a", "a-1", "a_1", "aa", "b", "é", "\uFFFD", "😀"];

/**
 * A hub with hundreds of edges: to and from 160 nodes (tricky ids among them) under labels whose
 * byte order matters, parallel edges, and two self-loops.
 */
export function hubGraph(): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const others = [
    ...IDS_IN_BYTE_ORDER,
    ...Array.from({ length: 150 }, (_, i) => `n${String(i).padStart(3, "0")}`),
  ];
  const nodes = [
    node("hub", "hub"),
    ...others.map((id, i) => node(id, i % 2 ? "odd" : "even", { i: BigInt(i) })),
  ];
  const edges: GraphEdge[] = [edge("hub", "hub", "a"), edge("hub", "hub", "Self")];
  others.forEach((id, i) => {
    edges.push(edge("hub", id, "a", { i: BigInt(i) }));
    if (i % 2 === 0) edges.push(edge(id, "hub", "a"));
    if (i % 3 === 0) edges.push(edge("hub", id, "B"));
    if (i % 5 === 0) edges.push(edge(id, "hub", "é"));
  });
  return { nodes, edges };
}

/** Neighbors: order, direction and label filters, paging, self-loops and missing nodes. */
export function graphNeighborsTests(ctx: GraphSuiteContext): void {
  let graph: GraphBackend;
  beforeEach(() => {
    graph = ctx.graph();
  });

  async function loadHub(): Promise<{ ns: string; nodes: GraphNode[]; edges: GraphEdge[] }> {
    const ns = freshNamespace();
    const { nodes, edges } = hubGraph();
    await graph.upsertNodes(ns, nodes, {});
    for (let i = 0; i < edges.length; i += 100) await graph.upsertEdges(ns, edges.slice(i, i + 100), {});
    return { ns, nodes, edges };
  }

  describe("neighbors", () => {
    it("orders by other node id, edge label (UTF-8 bytes), then out before in; a self-loop twice", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("me"), ...IDS_IN_BYTE_ORDER.map((id) => node(id))], {});
      const edges: GraphEdge[] = [edge("me", "me", "loop")];
      for (const id of [...IDS_IN_BYTE_ORDER].reverse()) {
        edges.push(edge(id, "me", "é"), edge("me", id, "é"), edge("me", id, "a"), edge(id, "me", "B"));
      }
      await graph.upsertEdges(ns, edges, {});
      const { neighbors, more } = await graph.neighbors(ns, "me", neighborsOptions());
      const expected = expectedNeighbors(edges, "me", "both");
      expect(neighbors.map(neighborKey)).toEqual(expected);
      expect(more).toBe(false);
      // Spelled out for one id, so the order is not only the test's own sort.
      expect(expected.slice(0, 4)).toEqual([
        "in B B -B-> me",
        "out B me -a-> B",
        "out B me -é-> B",
        "in B B -é-> me",
      ]);
      expect(expected.filter((key) => key.includes("loop"))).toEqual([
        "out me me -loop-> me",
        "in me me -loop-> me",
      ]);
    });

    it("follows one direction, filters by edge label, and returns the other node whole", async () => {
      const { ns, nodes, edges } = await loadHub();
      for (const direction of ["out", "in", "both"] as const) {
        for (const edgeLabels of [[], ["a"], ["é", "B"], ["Self"], ["none"]]) {
          const { neighbors, more } = await graph.neighbors(
            ns,
            "hub",
            neighborsOptions({ direction, edgeLabels }),
          );
          expect(neighbors.map(neighborKey), `${direction} ${edgeLabels.join(",")}`).toEqual(
            expectedNeighbors(edges, "hub", direction, edgeLabels),
          );
          expect(more).toBe(false);
        }
      }
      const byId = new Map(nodes.map((n) => [n.id, n]));
      const { neighbors } = await graph.neighbors(ns, "hub", neighborsOptions());
      for (const n of neighbors) {
        const other = n.direction === "out" ? n.edge.toId : n.edge.fromId;
        expect(nodeView(n.node)).toEqual(nodeView(byId.get(other)!));
      }
      const selfLoops = await graph.neighbors(
        ns,
        "hub",
        neighborsOptions({ direction: "out", edgeLabels: ["Self"] }),
      );
      expect(selfLoops.neighbors.map(neighborKey)).toEqual(["out hub hub -Self-> hub"]);
    });

    it("pages with `after` by small limits: the pages joined equal one big page, in contract order", async () => {
      const { ns, edges } = await loadHub();
      for (const direction of ["both", "out", "in"] as const) {
        const whole = await graph.neighbors(ns, "hub", neighborsOptions({ direction }));
        expect(whole.neighbors.length).toBeGreaterThan(direction === "both" ? 300 : 60);
        expect(whole.neighbors.map(neighborKey)).toEqual(expectedNeighbors(edges, "hub", direction));
        for (const limit of [1, 7, 50]) {
          const pages = await neighborPages(graph, ns, "hub", neighborsOptions({ direction, limit }));
          expect(pages.flat().map(neighborKey), `${direction} by ${limit}`).toEqual(
            whole.neighbors.map(neighborKey),
          );
        }
      }
      const filtered = await neighborPages(
        graph,
        ns,
        "hub",
        neighborsOptions({ edgeLabels: ["é", "Self"], limit: 3 }),
      );
      expect(filtered.flat().map(neighborKey)).toEqual(
        expectedNeighbors(edges, "hub", "both", ["é", "Self"]),
      );
    });

    it("continues strictly after a cursor that names no stored neighbor", async () => {
      const { ns, edges } = await loadHub();
      const expected = expectedNeighbors(edges, "hub", "both");
      const after = { nodeId: "a-1", label: "a", direction: "in" as const };
      const { neighbors } = await graph.neighbors(ns, "hub", neighborsOptions({ after, limit: 3 }));
      // a-1 has no in-edge "a" (its index is odd), so the page starts at a_1's out edge "a".
      const start = expected.indexOf("out a_1 hub -a-> a_1");
      expect(neighbors.map(neighborKey)).toEqual(expected.slice(start, start + 3));
      const beyond = await graph.neighbors(
        ns,
        "hub",
        neighborsOptions({ after: { nodeId: "😀😀", label: "a", direction: "out" } }),
      );
      expect(beyond).toEqual({ neighbors: [], more: false });
    });

    it("says more=false once a page holds everything left", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(
        ns,
        ["x", "a", "b", "c"].map((id) => node(id)),
        {},
      );
      await graph.upsertEdges(ns, [edge("x", "a"), edge("x", "b"), edge("c", "x")], {});
      const first = await graph.neighbors(ns, "x", neighborsOptions({ limit: 2 }));
      expect(first.neighbors.map(neighborKey)).toEqual(["out a x -e-> a", "out b x -e-> b"]);
      expect(first.more).toBe(true);
      const after = { nodeId: "b", label: "e", direction: "out" as const };
      const last = await graph.neighbors(ns, "x", neighborsOptions({ limit: 5, after }));
      expect(last.neighbors.map(neighborKey)).toEqual(["in c c -e-> x"]);
      expect(last.more).toBe(false);
    });

    it("returns nothing for a node without edges, and NODE_NOT_FOUND for a node that does not exist", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("alone"), node("x")], {});
      await graph.upsertEdges(ns, [edge("x", "x")], {});
      expect(await graph.neighbors(ns, "alone", neighborsOptions())).toEqual({ neighbors: [], more: false });
      expect(await graph.neighbors(ns, "x", neighborsOptions({ edgeLabels: ["other"] }))).toEqual({
        neighbors: [],
        more: false,
      });
      for (const direction of ["out", "in", "both"] as const) {
        await expectPrismError(
          graph.neighbors(ns, "ghost", neighborsOptions({ direction })),
          "NotFound",
          "NODE_NOT_FOUND",
          {
            node_id: "ghost",
          },
        );
      }
    });
  });
}
