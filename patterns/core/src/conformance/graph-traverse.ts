import { beforeEach, describe, expect, it } from "vitest";
import type { Direction, GraphBackend, TraversalStep, TraverseOptions } from "../graph.js";
import {
  edgeKey,
  edgeView,
  expectPrismError,
  follows,
  type GraphSuiteContext,
  nodeView,
  referenceDepths,
} from "./graph-fixtures.js";
import { cyclicGraph, type GraphData, loadGraph, loadStar, randomGraph } from "./graph-shapes.js";

export const DIRECTIONS: Direction[] = ["out", "in", "both"];

/**
 * Checks a traversal against the graph: the start first with depth 0 and no `via`, depths never
 * decreasing, each node once and whole, each `via` a stored edge with an allowed label that
 * joins a node of depth − 1 to the node (followed per direction). Returns id → depth.
 */
function checkSteps(
  steps: TraversalStep[],
  graph: GraphData,
  startId: string,
  options: Pick<TraverseOptions, "direction" | "edgeLabels">,
): Map<string, number> {
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const edges = new Map(graph.edges.map((e) => [edgeKey(e), e]));
  const depths = new Map<string, number>();
  expect(steps[0]?.node.id).toBe(startId);
  expect(steps[0]?.depth).toBe(0);
  expect(steps[0]?.via).toBeUndefined();
  let previous = 0;
  for (const step of steps) {
    const id = step.node.id;
    expect(depths.has(id), `${id} returned twice`).toBe(false);
    expect(step.depth, `depth of ${id} went down`).toBeGreaterThanOrEqual(previous);
    previous = step.depth;
    expect(nodeView(step.node)).toEqual(nodeView(nodes.get(id)!));
    if (step.depth > 0) {
      const via = step.via;
      expect(via, `${id} has no via`).toBeDefined();
      const stored = edges.get(edgeKey(via!));
      expect(stored, `via ${edgeKey(via!)} is not stored`).toBeDefined();
      expect(edgeView(via!)).toEqual(edgeView(stored!));
      if (options.edgeLabels.length > 0) expect(options.edgeLabels).toContain(via!.label);
      const parent = via!.fromId === id && options.direction !== "out" ? via!.toId : via!.fromId;
      expect(depths.get(parent), `${edgeKey(via!)} does not come from depth ${step.depth - 1}`).toBe(
        step.depth - 1,
      );
      expect(
        follows(via!, parent, id, options.direction),
        `${edgeKey(via!)} followed ${options.direction}`,
      ).toBe(true);
    }
    depths.set(id, step.depth);
  }
  return depths;
}

const traverseOptions = (more: Partial<TraverseOptions> = {}): TraverseOptions => ({
  direction: "out",
  maxDepth: 10,
  edgeLabels: [],
  nodeLabels: [],
  limit: 10_000,
  visitBudget: 100_000,
  ...more,
});

/** Traverse: BFS depths and via edges on cyclic graphs, filters, limit, budget, missing start. */
export function graphTraverseTests(ctx: GraphSuiteContext): void {
  let graph: GraphBackend;
  beforeEach(() => {
    graph = ctx.graph();
  });

  describe("traverse", () => {
    it("reaches each node once at its BFS depth through a valid via edge, in every direction and depth", async () => {
      for (const data of [cyclicGraph(), randomGraph()]) {
        const ns = await loadGraph(graph, data);
        const start = data.nodes[0]!.id;
        for (const direction of DIRECTIONS) {
          for (const maxDepth of [1, 2, 3, 10]) {
            const options = traverseOptions({ direction, maxDepth });
            const steps = await graph.traverse(ns, start, options);
            const depths = checkSteps(steps, data, start, options);
            expect(Object.fromEntries(depths), `${direction} to depth ${maxDepth}`).toEqual(
              Object.fromEntries(referenceDepths(data.nodes, data.edges, start, options)),
            );
          }
        }
      }
    });

    it("follows only edges with the given labels and visits only nodes with the given labels", async () => {
      for (const data of [cyclicGraph(), randomGraph()]) {
        const ns = await loadGraph(graph, data);
        const start = data.nodes[0]!.id;
        const filters = [
          { edgeLabels: ["knows"], nodeLabels: [] },
          { edgeLabels: ["fast"], nodeLabels: [] },
          { edgeLabels: ["knows", "works"], nodeLabels: ["person"] },
          { edgeLabels: [], nodeLabels: ["company", "city"] },
          { edgeLabels: [], nodeLabels: ["hub"] },
          { edgeLabels: ["slow"], nodeLabels: ["leaf"] },
          { edgeLabels: ["nothing"], nodeLabels: [] },
        ];
        for (const filter of filters) {
          for (const direction of DIRECTIONS) {
            const options = traverseOptions({ direction, ...filter });
            const steps = await graph.traverse(ns, start, options);
            const depths = checkSteps(steps, data, start, options);
            expect(Object.fromEntries(depths), `${direction} ${JSON.stringify(filter)}`).toEqual(
              Object.fromEntries(referenceDepths(data.nodes, data.edges, start, options)),
            );
          }
        }
      }
      // Spelled out: from s, companies only — b; d is only behind c, a person, so it is not reached.
      const ns = await loadGraph(graph, cyclicGraph());
      const steps = await graph.traverse(ns, "s", traverseOptions({ nodeLabels: ["company"] }));
      expect(steps.map((s) => `${s.node.id}@${s.depth}`)).toEqual(["s@0", "b@1"]);
    });

    it("returns at most `limit` nodes, the start included, in BFS order", async () => {
      const data = randomGraph();
      const ns = await loadGraph(graph, data);
      const start = data.nodes[0]!.id;
      for (const direction of DIRECTIONS) {
        const options = traverseOptions({ direction });
        const reference = referenceDepths(data.nodes, data.edges, start, options);
        const sortedDepths = [...reference.values()].sort((x, y) => x - y);
        for (const limit of [1, 2, 5, 13, reference.size, reference.size + 5]) {
          const steps = await graph.traverse(ns, start, { ...options, limit });
          const depths = checkSteps(steps, data, start, options);
          expect(steps.length).toBe(Math.min(limit, reference.size));
          expect(steps.map((s) => s.depth)).toEqual(sortedDepths.slice(0, steps.length));
          for (const [id, depth] of depths) expect(depth, id).toBe(reference.get(id));
        }
      }
    });

    it("returns the start alone when nothing is reachable", async () => {
      const ns = await loadGraph(graph, cyclicGraph());
      for (const direction of DIRECTIONS) {
        const steps = await graph.traverse(ns, "y", traverseOptions({ direction }));
        expect(steps.map((s) => [s.node.id, s.depth, s.via])).toEqual([["y", 0, undefined]]);
      }
    });

    it("throws NODE_NOT_FOUND for a start node that does not exist", async () => {
      const ns = await loadGraph(graph, cyclicGraph());
      for (const direction of DIRECTIONS) {
        await expectPrismError(
          graph.traverse(ns, "ghost", traverseOptions({ direction })),
          "NotFound",
          "NODE_NOT_FOUND",
          {
            node_id: "ghost",
          },
        );
      }
    });

    it("throws TRAVERSAL_BUDGET_EXCEEDED when a fan-out needs more edges than the budget; a generous one is fine", async () => {
      const ns = await loadStar(graph, 300);
      for (const direction of ["out", "both"] as const) {
        await expectPrismError(
          graph.traverse(ns, "hub", traverseOptions({ direction, maxDepth: 1, visitBudget: 10 })),
          "ResourceExhausted",
          "TRAVERSAL_BUDGET_EXCEEDED",
        );
      }
      await expectPrismError(
        graph.traverse(ns, "far", traverseOptions({ direction: "in", maxDepth: 3, visitBudget: 50 })),
        "ResourceExhausted",
        "TRAVERSAL_BUDGET_EXCEEDED",
      );
      const steps = await graph.traverse(ns, "hub", traverseOptions({ maxDepth: 2, visitBudget: 10_000 }));
      expect(steps).toHaveLength(302);
      expect(steps.at(-1)?.node.id).toBe("far");
      expect(steps.at(-1)?.depth).toBe(2);
    });
  });
}
