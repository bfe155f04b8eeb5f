import {
  type CallOptions,
  type EdgeRef,
  edgeEndpointMissing,
  type GraphBackend,
  type GraphCapabilities,
  type GraphEdge,
  type GraphNode,
  type GraphScanOptions,
  type Neighbor,
  type NeighborsOptions,
  nodeNotFound,
  type ShortestPathOptions,
  type TraversalStep,
  type TraverseOptions,
  throwIfAborted,
  type WriteOptions,
} from "@prism/core";
import gremlin from "gremlin";
import type { GremlinLink } from "./gremlin-link.js";
import { type Layout, sortKey } from "./layout.js";
import { encodeProperties } from "./property-encoding.js";
import { decodeEdge, decodeNode, elementRow, field, list } from "./rows.js";
import { getEdges, scanEdges, scanNodes } from "./scan.js";
import { shortestPath, traverse } from "./traversal.js";

const __ = gremlin.process.statics;
const { t, P, cardinality, scope } = gremlin.process;

/**
 * The Graph pattern on a Gremlin server (Neptune, or Gremlin Server with TinkerGraph in tests).
 * Layout and encodings: `layout.ts`, `property-encoding.ts`; Traverse and ShortestPath:
 * `traversal.ts`; GetEdges and the namespace scans: `scan.ts`; ADR 0015 has the why.
 */
export class NeptuneGraph implements GraphBackend {
  /** Traverse and ShortestPath run level by level from the gateway, one traversal per level. */
  readonly capabilities: GraphCapabilities = { nativeTraversal: false };

  constructor(
    private readonly link: GremlinLink,
    private readonly layout: Layout,
    private readonly writeBatchSize: number,
  ) {}

  async upsertNodes(namespace: string, nodes: GraphNode[], { signal }: WriteOptions): Promise<number> {
    throwIfAborted(signal);
    for (const batch of batches(nodes, this.writeBatchSize)) {
      await this.link.run(signal, (g) =>
        batch.reduce(
          (traversal, node) => traversal.sideEffect(this.#upsertVertex(namespace, node)),
          g.inject(0),
        ),
      );
    }
    return nodes.length;
  }

  async upsertEdges(namespace: string, edges: GraphEdge[], { signal }: WriteOptions): Promise<number> {
    throwIfAborted(signal);
    if (edges.length === 0) return 0;
    const endpoints = [...new Set(edges.flatMap((edge) => [edge.fromId, edge.toId]))];
    const vertexIds = endpoints.map((id) => this.layout.vertexId(namespace, id));
    const found = new Set(await this.link.run(signal, (g) => g.V(...vertexIds).id()));
    const missing = endpoints.find((id) => !found.has(this.layout.vertexId(namespace, id)));
    if (missing !== undefined) {
      throw edgeEndpointMissing(missing);
    }
    for (const batch of batches(edges, this.writeBatchSize)) {
      await this.link.run(signal, (g) =>
        batch.reduce(
          (traversal, edge) => traversal.sideEffect(this.#upsertEdge(namespace, edge)),
          g.inject(0),
        ),
      );
    }
    return edges.length;
  }

  async getNodes(namespace: string, ids: string[], { signal }: CallOptions): Promise<GraphNode[]> {
    throwIfAborted(signal);
    if (ids.length === 0) return [];
    const vertexIds = [...new Set(ids)].map((id) => this.layout.vertexId(namespace, id));
    const rows = await this.link.run(signal, (g) => g.V(...vertexIds).flatMap(elementRow()));
    const byId = new Map(
      rows.map((row) => decodeNode(this.layout, namespace, row)).map((node) => [node.id, node]),
    );
    // A repeated id is returned once, at its first position.
    return [...new Set(ids)].flatMap((id) => byId.get(id) ?? []);
  }

  async deleteNodes(namespace: string, ids: string[], { signal }: WriteOptions): Promise<number> {
    throwIfAborted(signal);
    if (ids.length === 0) return 0;
    const vertexIds = [...new Set(ids)].map((id) => this.layout.vertexId(namespace, id));
    // Dropping a vertex drops its edges (TinkerPop semantics, Neptune included).
    const [count] = await this.link.run(signal, (g) =>
      g
        .V(...vertexIds)
        .fold()
        .sideEffect(__.unfold().drop())
        .count(scope.local),
    );
    return Number(count ?? 0);
  }

  async deleteEdges(namespace: string, edges: EdgeRef[], { signal }: WriteOptions): Promise<number> {
    throwIfAborted(signal);
    if (edges.length === 0) return 0;
    const edgeIds = [...new Set(edges.map((edge) => this.layout.edgeId(namespace, edge)))];
    const [count] = await this.link.run(signal, (g) =>
      g
        .E(...edgeIds)
        .fold()
        .sideEffect(__.unfold().drop())
        .count(scope.local),
    );
    return Number(count ?? 0);
  }

  /**
   * One round trip: the node's matching out-edges and in-edges after the cursor, each side
   * ordered by its sort key on the server and cut at `limit + 1`, merged here.
   */
  async neighbors(
    namespace: string,
    nodeId: string,
    options: NeighborsOptions,
  ): Promise<{ neighbors: Neighbor[]; more: boolean }> {
    const { direction, edgeLabels, limit, after, signal } = options;
    const { keys } = this.layout;
    const afterKey = after === undefined ? undefined : sortKey(after.nodeId, after.label);
    const side = (dir: "out" | "in") => {
      const key = dir === "out" ? keys.outKey : keys.inKey;
      let edges = dir === "out" ? __.outE(...edgeLabels) : __.inE(...edgeLabels);
      if (afterKey !== undefined) {
        // Out sorts before in: after an `out` cursor, the `in` neighbor with the same key is next.
        const inclusive = dir === "in" && after?.direction === "out";
        edges = edges.has(key, inclusive ? P.gte(afterKey) : P.gt(afterKey));
      }
      const other = dir === "out" ? __.inV() : __.outV();
      return edges
        .order()
        .by(key)
        .limit(limit + 1)
        .project("k", "e", "v")
        .by(key)
        .by(elementRow())
        .by(other.flatMap(elementRow()))
        .fold();
    };
    const sides: ("out" | "in")[] = direction === "both" ? ["out", "in"] : [direction];
    const vertexId = this.layout.vertexId(namespace, nodeId);
    const [row] = await this.link.run(signal, (g) =>
      sides.reduce((traversal, dir) => traversal.by(side(dir)), g.V(vertexId).project(...sides)),
    );
    if (row === undefined) throw nodeNotFound(nodeId);
    const merged = sides
      .flatMap((dir) => list(field(row, dir)).map((item) => ({ dir, key: String(field(item, "k")), item })))
      .sort((a, b) =>
        a.key === b.key ? (a.dir === b.dir ? 0 : a.dir === "out" ? -1 : 1) : a.key < b.key ? -1 : 1,
      );
    const neighbors = merged.slice(0, limit).map(({ dir, item }) => ({
      edge: decodeEdge(this.layout, namespace, field(item, "e")),
      direction: dir,
      node: decodeNode(this.layout, namespace, field(item, "v")),
    }));
    return { neighbors, more: merged.length > limit };
  }

  traverse(namespace: string, startId: string, options: TraverseOptions): Promise<TraversalStep[]> {
    return traverse(this.link, this.layout, namespace, startId, options);
  }

  shortestPath(
    namespace: string,
    fromId: string,
    toId: string,
    options: ShortestPathOptions,
  ): Promise<{ nodes: GraphNode[]; edges: GraphEdge[] } | undefined> {
    return shortestPath(this.link, this.layout, namespace, fromId, toId, options);
  }

  getEdges(namespace: string, refs: EdgeRef[], { signal }: CallOptions): Promise<GraphEdge[]> {
    return getEdges(this.link, this.layout, namespace, refs, signal);
  }

  scanNodes(namespace: string, options: GraphScanOptions): Promise<{ nodes: GraphNode[]; cursor?: string }> {
    return scanNodes(this.link, this.layout, namespace, options);
  }

  scanEdges(namespace: string, options: GraphScanOptions): Promise<{ edges: GraphEdge[]; cursor?: string }> {
    return scanEdges(this.link, this.layout, namespace, options);
  }

  /** Finds or creates the vertex, then replaces its label and properties wholly. */
  #upsertVertex(namespace: string, node: GraphNode): gremlin.process.GraphTraversal {
    const vertexId = this.layout.vertexId(namespace, node.id);
    const { keys, vertexLabel } = this.layout;
    let traversal = __.V(vertexId)
      .fold()
      .coalesce(__.unfold(), __.addV(vertexLabel).property(t.id, vertexId))
      .sideEffect(__.properties().drop())
      .property(cardinality.single, keys.ns, namespace)
      .property(cardinality.single, keys.label, node.label);
    for (const [key, value] of encodeProperties(node.properties)) {
      // `single`: Neptune's default cardinality is `set`, which would add a value, not replace it.
      traversal = traversal.property(cardinality.single, key, value);
    }
    return traversal;
  }

  /** Finds or creates the edge (its id is its identity), then replaces its properties wholly. */
  #upsertEdge(namespace: string, edge: GraphEdge): gremlin.process.GraphTraversal {
    const edgeId = this.layout.edgeId(namespace, edge);
    const { keys } = this.layout;
    const create = __.V(this.layout.vertexId(namespace, edge.fromId))
      .addE(edge.label)
      .to(__.V(this.layout.vertexId(namespace, edge.toId)))
      .property(t.id, edgeId);
    // Found from its source vertex: mid-traversal E() needs TinkerPop 3.7, which older Neptune
    // engines do not run.
    let traversal = __.V(this.layout.vertexId(namespace, edge.fromId))
      .outE(edge.label)
      .hasId(edgeId)
      .fold()
      .coalesce(__.unfold(), create)
      .sideEffect(__.properties().drop())
      .property(keys.ns, namespace)
      .property(keys.outKey, sortKey(edge.toId, edge.label))
      .property(keys.inKey, sortKey(edge.fromId, edge.label));
    for (const [key, value] of encodeProperties(edge.properties)) traversal = traversal.property(key, value);
    return traversal;
  }
}

function batches<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
