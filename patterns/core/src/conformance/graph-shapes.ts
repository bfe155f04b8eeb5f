import type { GraphBackend, GraphEdge, GraphNode } from "../graph.js";
import { freshNamespace } from "./fixtures.js";
import { edge, edgeKey, node } from "./graph-fixtures.js";

/** A graph to load: nodes first, then edges. */
export interface GraphData {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/**
 * A small graph with cycles (s→a→c→s, c→d→e→c, f⇄g), parallel labels, a node reached only
 * against the edges (x→s) and an isolated one (y).
 */
export function cyclicGraph(): GraphData {
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
export function randomGraph(): GraphData {
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

/** Loads `data` into a fresh namespace and returns its name. */
export async function loadGraph(graph: GraphBackend, data: GraphData): Promise<string> {
  const ns = freshNamespace();
  await graph.upsertNodes(ns, data.nodes, {});
  await graph.upsertEdges(ns, data.edges, {});
  return ns;
}

/** A star: `hub` with `fanOut` edges out to leaves, and each leaf one edge on to `far`. */
export async function loadStar(graph: GraphBackend, fanOut: number): Promise<string> {
  const leaves = Array.from({ length: fanOut }, (_, i) => node(`leaf-${i}`));
  const ns = freshNamespace();
  await graph.upsertNodes(ns, [node("hub"), node("far"), ...leaves], {});
  const edges = leaves.flatMap((leaf) => [edge("hub", leaf.id), edge(leaf.id, "far")]);
  for (let i = 0; i < edges.length; i += 200) await graph.upsertEdges(ns, edges.slice(i, i + 200), {});
  return ns;
}
