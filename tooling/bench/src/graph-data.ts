import type { GraphEdge, GraphNode } from "@prism/core";

/** The shape of a generated graph. */
export interface GraphShape {
  readonly nodes: number;
  readonly edges: number;
  /** Seed of the generator: the same shape and seed give the same graph. */
  readonly seed: number;
}

/** A generated graph and a few facts about its degrees (for the report). */
export interface GeneratedGraph {
  readonly nodes: GraphNode[];
  readonly edges: GraphEdge[];
  /** Highest out-degree (the biggest hub's). */
  readonly maxOutDegree: number;
  /** Median out-degree over all nodes (most nodes have a handful). */
  readonly medianOutDegree: number;
  /** Nodes with at least 1,000 outgoing edges. */
  readonly hubs: number;
}

/** The node labels and edge labels the generator uses. */
export const NODE_LABELS = ["person", "item"] as const;
export const EDGE_LABELS = ["knows", "likes"] as const;

/**
 * The id of node `i`.
 *
 * @example nodeId(7) // "n7"
 */
export const nodeId = (i: number): string => `n${i}`;

/**
 * Deterministic pseudo-random numbers in [0, 1) (mulberry32), so every run loads the same graph.
 *
 * @example const next = seededRandom(42); next() // 0.6011…
 */
export function seededRandom(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The most distinct edges `nodes` nodes can hold without self-loops skewing the draw: a quarter
 * of every (from, to, label) triple.
 */
export function maxEdges(nodes: number): number {
  return Math.floor((nodes * nodes * EDGE_LABELS.length) / 4);
}

/**
 * A graph with skewed degrees: an edge's source is node `⌊N·u³⌋` for uniform `u` (a power law:
 * node 0 of a 10k/100k graph has about 4,600 outgoing edges, the median node about 5), its target
 * uniform, its label one of two; (from, to, label) unique. Every node and edge carries small typed
 * properties, as real ones would.
 *
 * @example const { nodes, edges } = generateGraph({ nodes: 10_000, edges: 100_000, seed: 42 })
 */
export function generateGraph(shape: GraphShape): GeneratedGraph {
  if (shape.nodes < 2) throw new Error("a graph needs at least 2 nodes");
  if (shape.edges > maxEdges(shape.nodes)) {
    throw new Error(`${shape.nodes} nodes hold at most ${maxEdges(shape.nodes)} generated edges`);
  }
  const next = seededRandom(shape.seed);
  const nodes: GraphNode[] = Array.from({ length: shape.nodes }, (_, i) => ({
    id: nodeId(i),
    label: NODE_LABELS[i % 3 === 0 ? 0 : 1],
    properties: { rank: BigInt(i), score: next() },
  }));
  const seen = new Set<string>();
  const edges: GraphEdge[] = [];
  const outDegree = new Array<number>(shape.nodes).fill(0);
  while (edges.length < shape.edges) {
    const from = Math.min(shape.nodes - 1, Math.floor(shape.nodes * next() ** 3));
    const to = Math.min(shape.nodes - 1, Math.floor(shape.nodes * next()));
    const label = EDGE_LABELS[next() < 0.5 ? 0 : 1];
    const key = `${from} ${to} ${label}`;
    if (seen.has(key)) continue;
    seen.add(key);
    outDegree[from]!++;
    edges.push({ fromId: nodeId(from), toId: nodeId(to), label, properties: { weight: next() } });
  }
  const sorted = [...outDegree].sort((a, b) => a - b);
  return {
    nodes,
    edges,
    maxOutDegree: sorted.at(-1) ?? 0,
    medianOutDegree: sorted[Math.floor(sorted.length / 2)] ?? 0,
    hubs: sorted.filter((d) => d >= 1000).length,
  };
}
