import { beforeEach, describe, expect, it } from "vitest";
import type {
  Direction,
  GraphBackend,
  GraphEdge,
  GraphNode,
  ShortestPathOptions,
  TraversalStep,
  TraverseOptions,
} from "../graph.js";
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

const DIRECTIONS: Direction[] = ["out", "in", "both"];

/**
 * A small graph with cycles (s→a→c→s, c→d→e→c, f⇄g), parallel labels, a node reached only
 * against the edges (x→s) and an isolated one (y).
 */
export function cyclicGraph(): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes = [
    node("s", "person", { name: "start" }),
    node("a", "person"),
    node("b", "company", { size: 10n }),
    node("c", "person"),
    node("d", "company"),
    node("e", "person"),
    node("f", "person"),
    node("g", "city"),
    node("x", "person"),
    node("y", "person"),
  ];
  const edges = [
    edge("s", "a", "knows", { w: 1.5 }),
    edge("s", "b", "works"),
    edge("a", "c", "knows"),
    edge("b", "c", "employs"),
    edge("c", "s", "knows"),
    edge("c", "d", "works"),
    edge("d", "e", "employs"),
    edge("e", "c", "knows"),
    edge("d", "f", "employs"),
    edge("f", "g", "lives"),
    edge("g", "f", "has"),
    edge("a", "c", "likes"),
    edge("x", "s", "knows"),
  ];
  return { nodes, edges };
}

/** A deterministic pseudo-random graph: 40 nodes, 90 edges under two labels, self-loops possible. */
export function randomGraph(): { nodes: GraphNode[]; edges: GraphEdge[] } {
  let seed = 20240611;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return (seed >>> 8) % n;
  };
  const nodes = Array.from({ length: 40 }, (_, i) => node(`r${i}`, i % 4 === 0 ? "hub" : "leaf"));
  const edges = new Map<string, GraphEdge>();
  while (edges.size < 90) {
    const e = edge(`r${next(40)}`, `r${next(40)}`, next(3) === 0 ? "slow" : "fast");
    edges.set(edgeKey(e), e);
  }
  return { nodes, edges: [...edges.values()] };
}

/**
 * Checks a traversal against the graph: the start first with depth 0 and no `via`, depths never
 * decreasing, each node once and whole, each `via` a stored edge with an allowed label that
 * joins a node of depth − 1 to the node (followed per direction). Returns id → depth.
 */
function checkSteps(
  steps: TraversalStep[],
  graph: { nodes: GraphNode[]; edges: GraphEdge[] },
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

const pathOptions = (more: Partial<ShortestPathOptions> = {}): ShortestPathOptions => ({
  direction: "out",
  maxDepth: 10,
  edgeLabels: [],
  visitBudget: 100_000,
  ...more,
});

async function load(graph: GraphBackend, data: { nodes: GraphNode[]; edges: GraphEdge[] }): Promise<string> {
  const ns = freshNamespace();
  await graph.upsertNodes(ns, data.nodes, {});
  await graph.upsertEdges(ns, data.edges, {});
  return ns;
}

/** A star: `hub` with `fanOut` edges out to leaves, and each leaf one edge on to `far`. */
async function loadStar(graph: GraphBackend, fanOut: number): Promise<string> {
  const leaves = Array.from({ length: fanOut }, (_, i) => node(`leaf-${i}`));
  const ns = freshNamespace();
  await graph.upsertNodes(ns, [node("hub"), node("far"), ...leaves], {});
  const edges = leaves.flatMap((leaf) => [edge("hub", leaf.id), edge(leaf.id, "far")]);
  for (let i = 0; i < edges.length; i += 200) await graph.upsertEdges(ns, edges.slice(i, i + 200), {});
  return ns;
}

/** Traverse: BFS depths and via edges on cyclic graphs, filters, limit, budget, missing start. */
export function graphTraverseTests(ctx: GraphSuiteContext): void {
  let graph: GraphBackend;
  beforeEach(() => {
    graph = ctx.graph();
  });

  describe("traverse", () => {
    it("reaches each node once at its BFS depth through a valid via edge, in every direction and depth", async () => {
      for (const data of [cyclicGraph(), randomGraph()]) {
        const ns = await load(graph, data);
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
        const ns = await load(graph, data);
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
      const ns = await load(graph, cyclicGraph());
      const steps = await graph.traverse(ns, "s", traverseOptions({ nodeLabels: ["company"] }));
      expect(steps.map((s) => `${s.node.id}@${s.depth}`)).toEqual(["s@0", "b@1"]);
    });

    it("returns at most `limit` nodes, the start included, in BFS order", async () => {
      const data = randomGraph();
      const ns = await load(graph, data);
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
      const ns = await load(graph, cyclicGraph());
      for (const direction of DIRECTIONS) {
        const steps = await graph.traverse(ns, "y", traverseOptions({ direction }));
        expect(steps.map((s) => [s.node.id, s.depth, s.via])).toEqual([["y", 0, undefined]]);
      }
    });

    it("throws NODE_NOT_FOUND for a start node that does not exist", async () => {
      const ns = await load(graph, cyclicGraph());
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

/** ShortestPath: fewest edges (against a BFS here), direction, labels, maxDepth, budget, errors. */
export function graphShortestPathTests(ctx: GraphSuiteContext): void {
  let graph: GraphBackend;
  beforeEach(() => {
    graph = ctx.graph();
  });

  /** Checks a found path: ends, length, every edge stored, allowed and joining its two nodes. */
  function checkPath(
    path: { nodes: GraphNode[]; edges: GraphEdge[] },
    data: { nodes: GraphNode[]; edges: GraphEdge[] },
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
      const ns = await load(graph, data);
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
      const ns = await load(graph, data);
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
      const ns = await load(graph, data);
      for (const id of ["s", "y"]) {
        const path = await graph.shortestPath(ns, id, id, pathOptions({ maxDepth: 1 }));
        expect(path?.nodes.map(nodeView)).toEqual([nodeView(data.nodes.find((n) => n.id === id)!)]);
        expect(path?.edges).toEqual([]);
      }
    });

    it("throws NODE_NOT_FOUND for a missing endpoint, naming it", async () => {
      const ns = await load(graph, cyclicGraph());
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
