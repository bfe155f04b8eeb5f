import { beforeEach, describe, expect, it } from "vitest";
import type { GraphBackend, ShortestPathOptions } from "../graph.js";
import { freshNamespace } from "./fixtures.js";
import {
  edge,
  edgeKey,
  edgeView,
  expectPrismError,
  follows,
  type GraphSuiteContext,
  node,
  nodeView,
  referenceDepths,
} from "./graph-fixtures.js";
import { cyclicGraph, type GraphData, loadGraph, randomGraph } from "./graph-shapes.js";
import { DIRECTIONS } from "./graph-traverse.js";

const pathOptions = (more: Partial<ShortestPathOptions> = {}): ShortestPathOptions => ({
  direction: "out",
  maxDepth: 10,
  edgeLabels: [],
  visitBudget: 100_000,
  ...more,
});

/** ShortestPath: fewest edges (against a BFS here), direction, labels, maxDepth, budget, errors. */
export function graphShortestPathTests(ctx: GraphSuiteContext): void {
  let graph: GraphBackend;
  beforeEach(() => {
    graph = ctx.graph();
  });

  /** Checks a found path: ends, length, every edge stored, allowed and joining its two nodes. */
  function checkPath(
    path: GraphData,
    data: GraphData,
    fromId: string,
    toId: string,
    options: ShortestPathOptions,
  ): void {
    const nodes = new Map(data.nodes.map((n) => [n.id, n]));
    const edges = new Map(data.edges.map((e) => [edgeKey(e), e]));
    expect(path.nodes[0]?.id).toBe(fromId);
    expect(path.nodes.at(-1)?.id).toBe(toId);
    expect(path.edges).toHaveLength(path.nodes.length - 1);
    expect(new Set(path.nodes.map((n) => n.id)).size).toBe(path.nodes.length);
    for (const n of path.nodes) expect(nodeView(n)).toEqual(nodeView(nodes.get(n.id)!));
    path.edges.forEach((e, i) => {
      expect(edgeView(e)).toEqual(edgeView(edges.get(edgeKey(e))!));
      if (options.edgeLabels.length > 0) expect(options.edgeLabels).toContain(e.label);
      const [from, to] = [path.nodes[i]!.id, path.nodes[i + 1]!.id];
      expect(follows(e, from, to, options.direction), `${edgeKey(e)} joins ${from} and ${to}`).toBe(true);
    });
  }

  describe("shortestPath", () => {
    it("finds a path with the fewest edges, or none, per direction and edge labels", async () => {
      const data = randomGraph();
      const ns = await loadGraph(graph, data);
      let found = 0;
      let missing = 0;
      for (const from of ["r0", "r7"]) {
        for (const direction of DIRECTIONS) {
          for (const edgeLabels of [[], ["slow"]]) {
            const options = pathOptions({ direction, edgeLabels });
            const reference = referenceDepths(data.nodes, data.edges, from, options);
            for (const target of data.nodes.filter((_, i) => i % 2 === 1)) {
              const path = await graph.shortestPath(ns, from, target.id, options);
              const distance = reference.get(target.id);
              const what = `${from} → ${target.id} ${direction} ${edgeLabels.join(",")}`;
              if (distance === undefined) {
                expect(path, what).toBeUndefined();
                missing++;
              } else {
                expect(path, what).toBeDefined();
                checkPath(path!, data, from, target.id, options);
                expect(path!.edges.length, what).toBe(distance);
                found++;
              }
            }
          }
        }
      }
      // The graph is rich enough that both outcomes were exercised.
      expect(found).toBeGreaterThan(20);
      expect(missing).toBeGreaterThan(5);
    });

    it("respects maxDepth: a path longer than it is not found", async () => {
      const data = cyclicGraph();
      const ns = await loadGraph(graph, data);
      // s → f: s→b→c→d→f (works, employs, works, employs) and s→a→c→d→f — four edges.
      expect(await graph.shortestPath(ns, "s", "f", pathOptions({ maxDepth: 3 }))).toBeUndefined();
      const path = await graph.shortestPath(ns, "s", "f", pathOptions({ maxDepth: 4 }));
      checkPath(path!, data, "s", "f", pathOptions());
      expect(path!.edges).toHaveLength(4);
      // Following edges out, f only reaches g; against them, it reaches s in four (f←d←c←a|b←s).
      expect(await graph.shortestPath(ns, "f", "s", pathOptions())).toBeUndefined();
      const back = await graph.shortestPath(ns, "f", "s", pathOptions({ direction: "in" }));
      checkPath(back!, data, "f", "s", pathOptions({ direction: "in" }));
      expect(back!.edges).toHaveLength(4);
      const both = await graph.shortestPath(ns, "g", "x", pathOptions({ direction: "both" }));
      checkPath(both!, data, "g", "x", pathOptions({ direction: "both" }));
      expect(both!.edges).toHaveLength(5);
      expect(
        await graph.shortestPath(ns, "g", "x", pathOptions({ direction: "both", maxDepth: 4 })),
      ).toBeUndefined();
      expect(await graph.shortestPath(ns, "g", "x", pathOptions({ direction: "out" }))).toBeUndefined();
      expect(await graph.shortestPath(ns, "s", "y", pathOptions({ direction: "both" }))).toBeUndefined();
    });

    it("from a node to itself: that node and no edges", async () => {
      const data = cyclicGraph();
      const ns = await loadGraph(graph, data);
      for (const id of ["s", "y"]) {
        const path = await graph.shortestPath(ns, id, id, pathOptions({ maxDepth: 1 }));
        expect(path?.nodes.map(nodeView)).toEqual([nodeView(data.nodes.find((n) => n.id === id)!)]);
        expect(path?.edges).toEqual([]);
      }
    });

    it("throws NODE_NOT_FOUND for a missing endpoint, naming it", async () => {
      const ns = await loadGraph(graph, cyclicGraph());
      await expectPrismError(
        graph.shortestPath(ns, "ghost", "s", pathOptions()),
        "NotFound",
        "NODE_NOT_FOUND",
        {
          node_id: "ghost",
        },
      );
      await expectPrismError(
        graph.shortestPath(ns, "s", "ghost", pathOptions()),
        "NotFound",
        "NODE_NOT_FOUND",
        {
          node_id: "ghost",
        },
      );
      await expectPrismError(
        graph.shortestPath(ns, "ghost", "ghost", pathOptions()),
        "NotFound",
        "NODE_NOT_FOUND",
        {
          node_id: "ghost",
        },
      );
    });

    it("throws TRAVERSAL_BUDGET_EXCEEDED when the search needs more edges than the budget", async () => {
      // Both ends fan out wide, so a search from either end (or both) examines hundreds of edges.
      const ns = freshNamespace();
      const left = Array.from({ length: 200 }, (_, i) => node(`l${i}`));
      const right = Array.from({ length: 200 }, (_, i) => node(`r${i}`));
      await graph.upsertNodes(ns, [node("from"), node("to"), node("mid"), ...left, ...right], {});
      const edges = [
        ...left.map((n) => edge("from", n.id)),
        ...right.map((n) => edge(n.id, "to")),
        edge("l199", "mid"),
        edge("mid", "r199"),
      ];
      for (let i = 0; i < edges.length; i += 200) await graph.upsertEdges(ns, edges.slice(i, i + 200), {});
      await expectPrismError(
        graph.shortestPath(ns, "from", "to", pathOptions({ visitBudget: 10 })),
        "ResourceExhausted",
        "TRAVERSAL_BUDGET_EXCEEDED",
      );
      const path = await graph.shortestPath(ns, "from", "to", pathOptions({ visitBudget: 10_000 }));
      expect(path?.nodes.map((n) => n.id)).toEqual(["from", "l199", "mid", "r199", "to"]);
    });
  });
}
