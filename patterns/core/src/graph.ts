import { PrismError } from "./errors.js";
import type { CallOptions, WriteOptions } from "./keyvalue.js";

/**
 * The Graph pattern: a property graph per namespace. Nodes `{id, label, properties}`; directed
 * edges `{fromId, toId, label, properties}`, unique per (fromId, toId, label).
 *
 * The gateway validates every input before it reaches a backend, so a backend may rely on:
 * non-empty ids and labels without control characters (ids ≤ 256 bytes, labels ≤ 128), at most a
 * configured number of properties, finite doubles only (NaN and ±∞ are refused at the gateway),
 * int64 values as `bigint`, `maxDepth ≥ 1` already capped, positive limits and budgets.
 *
 * Semantics every backend implements (the Graph conformance suite pins each):
 * - Upserts REPLACE: an upserted node's label and properties replace the stored ones wholly (no
 *   merge); likewise an edge's properties.
 * - An edge whose endpoint node does not exist is refused: `upsertEdges` throws
 *   `PrismError("FailedPrecondition", …, { reason: "EDGE_ENDPOINT_MISSING", metadata: { node_id } })`
 *   and writes nothing of the batch.
 * - `deleteNodes` removes the nodes and every edge into or out of them.
 * - Neighbors, Traverse and ShortestPath from (or to) a node that does not exist throw
 *   `PrismError("NotFound", …, { reason: "NODE_NOT_FOUND", metadata: { node_id } })`.
 * - Work is bounded: a traversal or path search that would examine more than `visitBudget` edges
 *   throws `PrismError("ResourceExhausted", …, { reason: "TRAVERSAL_BUDGET_EXCEEDED" })`.
 */
export type PropertyValue = string | bigint | number | boolean | Uint8Array;

export interface GraphNode {
  id: string;
  label: string;
  properties: Record<string, PropertyValue>;
}

export interface GraphEdge {
  fromId: string;
  toId: string;
  label: string;
  properties: Record<string, PropertyValue>;
}

export type EdgeRef = Pick<GraphEdge, "fromId" | "toId" | "label">;

export type Direction = "out" | "in" | "both";

/** One hop: the edge, which way it was followed, and the node at its other end. */
export interface Neighbor {
  edge: GraphEdge;
  /** `out`: `edge.fromId` is the asked node; `in`: `edge.toId` is. */
  direction: "out" | "in";
  node: GraphNode;
}

/**
 * Where a Neighbors page continues. Neighbors are ordered by (other node's id, edge label,
 * direction `out` before `in`), ids and labels compared as UTF-8 bytes (`compareUtf8`). With
 * `both`, a self-loop appears twice (once `out`, once `in`).
 */
export interface NeighborCursor {
  nodeId: string;
  label: string;
  direction: "out" | "in";
}

export interface NeighborsOptions extends CallOptions {
  direction: Direction;
  /** Only edges with one of these labels; empty = all. */
  edgeLabels: string[];
  /** At most this many neighbors (≥ 1). */
  limit: number;
  /** Continue strictly after this neighbor. */
  after?: NeighborCursor;
}

/** One node a traversal reached: its depth (0 = the start) and the edge it was reached through. */
export interface TraversalStep {
  node: GraphNode;
  depth: number;
  /** Unset for the start node; otherwise an edge from a node of depth − 1 (followed per `direction`). */
  via?: GraphEdge;
}

export interface TraverseOptions extends CallOptions {
  direction: Direction;
  /** ≥ 1, capped by the gateway. */
  maxDepth: number;
  /** Follow only edges with one of these labels; empty = all. */
  edgeLabels: string[];
  /** Visit (return and expand) only nodes with one of these labels; empty = all. The start node is always returned. */
  nodeLabels: string[];
  /** Return at most this many nodes (the start included); reaching it is not an error. */
  limit: number;
  /** Most edges the search may examine before it fails with TRAVERSAL_BUDGET_EXCEEDED. */
  visitBudget: number;
}

export interface ShortestPathOptions extends CallOptions {
  direction: Direction;
  /** Longest path (in edges) searched, ≥ 1. */
  maxDepth: number;
  edgeLabels: string[];
  visitBudget: number;
}

export interface GraphScanOptions extends CallOptions {
  /** Where the previous page ended (its `cursor`); undefined = from the start. */
  cursor?: string;
  /** At most this many nodes or edges (≥ 1). */
  limit: number;
}

export interface GraphCapabilities {
  /** Traverse and ShortestPath run inside the store rather than hop by hop from the gateway. */
  nativeTraversal: boolean;
}

/**
 * A Graph store. Every method honours `signal` (reject with `abortError` once it fires; a long
 * traversal must stop its backend work, not only stop waiting for it).
 *
 * @example await graph.upsertNodes("social", [{ id: "ada", label: "person", properties: { born: 1815n } }], {});
 */
export interface GraphBackend {
  readonly capabilities: GraphCapabilities;
  /** Creates or replaces each node (label and properties). Returns how many were upserted. */
  upsertNodes(namespace: string, nodes: GraphNode[], options: WriteOptions): Promise<number>;
  /** Creates or replaces each edge; all endpoints must exist, else nothing is written. */
  upsertEdges(namespace: string, edges: GraphEdge[], options: WriteOptions): Promise<number>;
  /** The nodes found, in request order; missing ids are left out (not an error). */
  getNodes(namespace: string, ids: string[], options: CallOptions): Promise<GraphNode[]>;
  /** Deletes nodes and their incident edges; returns how many nodes existed and were deleted. */
  deleteNodes(namespace: string, ids: string[], options: WriteOptions): Promise<number>;
  /** Deletes edges by (fromId, toId, label); returns how many existed. */
  deleteEdges(namespace: string, edges: EdgeRef[], options: WriteOptions): Promise<number>;
  /** One page of a node's neighbors in cursor order; `more` when another page may follow. */
  neighbors(
    namespace: string,
    nodeId: string,
    options: NeighborsOptions,
  ): Promise<{ neighbors: Neighbor[]; more: boolean }>;
  /**
   * Breadth-first from `startId`: each reachable node once, in order of depth (any order within a
   * depth), with one edge it was reached through; cycles end; at most `limit` nodes.
   */
  traverse(namespace: string, startId: string, options: TraverseOptions): Promise<TraversalStep[]>;
  /**
   * A shortest path (fewest edges) from `fromId` to `toId` within `maxDepth`: nodes from first to
   * last and the edges joining them (`edges[i]` joins `nodes[i]` and `nodes[i+1]`), or undefined
   * when there is none. From a node to itself: that node and no edges.
   */
  shortestPath(
    namespace: string,
    fromId: string,
    toId: string,
    options: ShortestPathOptions,
  ): Promise<{ nodes: GraphNode[]; edges: GraphEdge[] } | undefined>;
  /** The edges found by (fromId, toId, label), in request order; missing ones are left out. */
  getEdges(namespace: string, refs: EdgeRef[], options: CallOptions): Promise<GraphEdge[]>;
  /**
   * One page of every node of the namespace, in an order the backend chooses and keeps stable
   * across calls. Following `cursor` until it is undefined yields every node that existed
   * before the scan started and still exists, exactly once. `cursor` is opaque, at most 4 KiB, and
   * valid across gateway restarts (backfill checkpoints it). Shadow backfill and verify use it.
   */
  scanNodes(namespace: string, options: GraphScanOptions): Promise<{ nodes: GraphNode[]; cursor?: string }>;
  /** As {@link scanNodes}, for edges. */
  scanEdges(namespace: string, options: GraphScanOptions): Promise<{ edges: GraphEdge[]; cursor?: string }>;
}

/** An edge names a node that does not exist (EDGE_ENDPOINT_MISSING); nothing of its batch is written. */
export function edgeEndpointMissing(nodeId: string): PrismError {
  return new PrismError("FailedPrecondition", "an edge names a node that does not exist", {
    reason: "EDGE_ENDPOINT_MISSING",
    metadata: { node_id: nodeId },
  });
}

/** Neighbors, Traverse or ShortestPath named a node that does not exist (NODE_NOT_FOUND). */
export function nodeNotFound(nodeId: string): PrismError {
  return new PrismError("NotFound", "the node does not exist", {
    reason: "NODE_NOT_FOUND",
    metadata: { node_id: nodeId },
  });
}

/** A traversal or path search would examine more edges than `visitBudget` (TRAVERSAL_BUDGET_EXCEEDED). */
export function visitBudgetExceeded(visitBudget: number): PrismError {
  return new PrismError("ResourceExhausted", "the search would examine more edges than its visit budget", {
    reason: "TRAVERSAL_BUDGET_EXCEEDED",
    metadata: { visit_budget: String(visitBudget) },
  });
}
