import {
  type CallOptions,
  type EdgeRef,
  type GraphBackend,
  type GraphEdge,
  type GraphNode,
  type GraphScanOptions,
  type Neighbor,
  type NeighborsOptions,
  PrismError,
  type ShortestPathOptions,
  type TraversalStep,
  type TraverseOptions,
  type WriteOptions,
} from "@prism/core";
import { diffNeighbors, diffNodes } from "./diff.js";
import type { ShadowState } from "./shadow-state.js";
import { shadowedRead } from "./shadowed-read.js";

/** Graph writes are mirrored on one lane: an edge must reach the shadow after its nodes. */
const LANE = "graph";

/**
 * Graph under shadow traffic: the primary answers; acknowledged writes are mirrored in order;
 * sampled GetNodes and Neighbors are compared. An edge the shadow refuses because an endpoint is
 * not there yet (the backfill has not reached it) brings those nodes over from the primary and
 * is written again. Traversals and scans stay on the primary.
 *
 * @example const graph = new ShadowGraph(postgres.graph, neptune.graph, state)
 */
export class ShadowGraph implements GraphBackend {
  constructor(
    private readonly primary: GraphBackend,
    private readonly shadow: GraphBackend,
    private readonly state: ShadowState,
  ) {}

  get capabilities() {
    return this.primary.capabilities;
  }

  async upsertNodes(namespace: string, nodes: GraphNode[], options: WriteOptions): Promise<number> {
    const count = await this.primary.upsertNodes(namespace, nodes, options);
    this.mirror(nodes.length * 128, (signal) => this.shadow.upsertNodes(namespace, nodes, { signal }));
    return count;
  }

  async upsertEdges(namespace: string, edges: GraphEdge[], options: WriteOptions): Promise<number> {
    const count = await this.primary.upsertEdges(namespace, edges, options);
    this.mirror(edges.length * 128, (signal) => this.upsertEdgesWithEndpoints(namespace, edges, signal));
    return count;
  }

  async deleteNodes(namespace: string, ids: string[], options: WriteOptions): Promise<number> {
    const count = await this.primary.deleteNodes(namespace, ids, options);
    this.mirror(ids.length * 64, (signal) => this.shadow.deleteNodes(namespace, ids, { signal }));
    return count;
  }

  async deleteEdges(namespace: string, edges: EdgeRef[], options: WriteOptions): Promise<number> {
    const count = await this.primary.deleteEdges(namespace, edges, options);
    this.mirror(edges.length * 64, (signal) => this.shadow.deleteEdges(namespace, edges, { signal }));
    return count;
  }

  getNodes(namespace: string, ids: string[], options: CallOptions): Promise<GraphNode[]> {
    return shadowedRead(
      this.state,
      ids[0] ?? "",
      options.signal,
      (signal) => this.primary.getNodes(namespace, ids, { signal }),
      (signal) => this.shadow.getNodes(namespace, ids, { signal }),
      diffNodes,
    );
  }

  neighbors(
    namespace: string,
    nodeId: string,
    options: NeighborsOptions,
  ): Promise<{ neighbors: Neighbor[]; more: boolean }> {
    return shadowedRead(
      this.state,
      nodeId,
      options.signal,
      (signal) => this.primary.neighbors(namespace, nodeId, { ...options, signal }),
      (signal) => this.shadow.neighbors(namespace, nodeId, { ...options, signal }),
      diffNeighbors,
    );
  }

  traverse(namespace: string, startId: string, options: TraverseOptions): Promise<TraversalStep[]> {
    return this.primary.traverse(namespace, startId, options);
  }

  shortestPath(namespace: string, fromId: string, toId: string, options: ShortestPathOptions) {
    return this.primary.shortestPath(namespace, fromId, toId, options);
  }

  getEdges(namespace: string, refs: EdgeRef[], options: CallOptions): Promise<GraphEdge[]> {
    return this.primary.getEdges(namespace, refs, options);
  }

  scanNodes(namespace: string, options: GraphScanOptions) {
    return this.primary.scanNodes(namespace, options);
  }

  scanEdges(namespace: string, options: GraphScanOptions) {
    return this.primary.scanEdges(namespace, options);
  }

  private mirror(bytes: number, write: (signal: AbortSignal) => Promise<unknown>): void {
    this.state.queue.offer(LANE, bytes, async (signal) => {
      await write(signal);
    });
  }

  private async upsertEdgesWithEndpoints(namespace: string, edges: GraphEdge[], signal: AbortSignal) {
    try {
      await this.shadow.upsertEdges(namespace, edges, { signal });
    } catch (error) {
      if (!(error instanceof PrismError) || error.reason !== "EDGE_ENDPOINT_MISSING") throw error;
      await copyEndpoints(this.primary, this.shadow, namespace, edges, signal);
      await this.shadow.upsertEdges(namespace, edges, { signal });
    }
  }
}

/**
 * Copies the nodes `edges` join from `primary` to `shadow` (a node the primary no longer has is
 * left out; the edge write then fails as it should).
 */
export async function copyEndpoints(
  primary: GraphBackend,
  shadow: GraphBackend,
  namespace: string,
  edges: readonly EdgeRef[],
  signal: AbortSignal,
): Promise<void> {
  const ids = [...new Set(edges.flatMap((edge) => [edge.fromId, edge.toId]))];
  const nodes = await primary.getNodes(namespace, ids, { signal });
  if (nodes.length > 0) await shadow.upsertNodes(namespace, nodes, { signal });
}
