import {
  type CallOptions,
  compareUtf8,
  type Direction,
  decodeScanCursor,
  type EdgeRef,
  edgeEndpointMissing,
  encodeScanCursor,
  type GraphBackend,
  type GraphCapabilities,
  type GraphEdge,
  type GraphNode,
  type GraphScanOptions,
  type Neighbor,
  type NeighborCursor,
  type NeighborsOptions,
  nodeNotFound,
  type PropertyValue,
  type ShortestPathOptions,
  type TraversalStep,
  type TraverseOptions,
  throwIfAborted,
  visitBudgetExceeded,
  type WriteOptions,
} from "@prism/core";

/** One namespace's graph: nodes, and each edge indexed from both of its ends. */
interface Store {
  nodes: Map<string, GraphNode>;
  /** fromId → (label, toId) → edge. */
  out: Map<string, Map<string, GraphEdge>>;
  /** toId → (label, fromId) → edge. */
  in: Map<string, Map<string, GraphEdge>>;
}

/** One hop found while expanding a node. */
interface Hop {
  edge: GraphEdge;
  direction: "out" | "in";
  otherId: string;
}

/**
 * Graph in process memory: adjacency maps per namespace (out and in), BFS in process, so traversal
 * is native. Every value is copied in and out, so callers never share state with the store.
 * The visit budget counts the edges a search looks at that pass its label filter.
 */
export class MemoryGraph implements GraphBackend {
  readonly capabilities: GraphCapabilities = { nativeTraversal: true };
  private readonly namespaces = new Map<string, Store>();

  async upsertNodes(namespace: string, nodes: GraphNode[], options: WriteOptions): Promise<number> {
    throwIfAborted(options.signal);
    const store = this.store(namespace);
    for (const n of nodes) store.nodes.set(n.id, copyNode(n));
    return nodes.length;
  }

  async upsertEdges(namespace: string, edges: GraphEdge[], options: WriteOptions): Promise<number> {
    throwIfAborted(options.signal);
    const store = this.store(namespace);
    for (const e of edges) {
      for (const id of [e.fromId, e.toId]) if (!store.nodes.has(id)) throw edgeEndpointMissing(id);
    }
    for (const e of edges) {
      const stored = copyEdge(e);
      slot(store.out, e.fromId).set(pairKey(e.label, e.toId), stored);
      slot(store.in, e.toId).set(pairKey(e.label, e.fromId), stored);
    }
    return edges.length;
  }

  async getNodes(namespace: string, ids: string[], options: CallOptions): Promise<GraphNode[]> {
    throwIfAborted(options.signal);
    const nodes = this.namespaces.get(namespace)?.nodes;
    if (!nodes) return [];
    const found: GraphNode[] = [];
    for (const id of new Set(ids)) {
      const n = nodes.get(id);
      if (n) found.push(copyNode(n));
    }
    return found;
  }

  async deleteNodes(namespace: string, ids: string[], options: WriteOptions): Promise<number> {
    throwIfAborted(options.signal);
    const store = this.namespaces.get(namespace);
    if (!store) return 0;
    let deleted = 0;
    for (const id of ids) {
      if (!store.nodes.delete(id)) continue;
      deleted++;
      for (const e of store.out.get(id)?.values() ?? []) store.in.get(e.toId)?.delete(pairKey(e.label, id));
      for (const e of store.in.get(id)?.values() ?? []) store.out.get(e.fromId)?.delete(pairKey(e.label, id));
      store.out.delete(id);
      store.in.delete(id);
    }
    return deleted;
  }

  async deleteEdges(namespace: string, edges: EdgeRef[], options: WriteOptions): Promise<number> {
    throwIfAborted(options.signal);
    const store = this.namespaces.get(namespace);
    if (!store) return 0;
    let deleted = 0;
    for (const e of edges) {
      if (!store.out.get(e.fromId)?.delete(pairKey(e.label, e.toId))) continue;
      store.in.get(e.toId)?.delete(pairKey(e.label, e.fromId));
      deleted++;
    }
    return deleted;
  }

  async neighbors(
    namespace: string,
    nodeId: string,
    options: NeighborsOptions,
  ): Promise<{ neighbors: Neighbor[]; more: boolean }> {
    throwIfAborted(options.signal);
    const store = this.existing(namespace, [nodeId]);
    const { after } = options;
    const hops = this.hops(store, nodeId, options.direction, options.edgeLabels)
      .filter((hop) => !after || compareHops(hop, after) > 0)
      .sort(compareHops);
    const page = hops.slice(0, options.limit).map(
      (hop): Neighbor => ({
        edge: copyEdge(hop.edge),
        direction: hop.direction,
        node: copyNode(store.nodes.get(hop.otherId)!),
      }),
    );
    return { neighbors: page, more: hops.length > options.limit };
  }

  async traverse(namespace: string, startId: string, options: TraverseOptions): Promise<TraversalStep[]> {
    throwIfAborted(options.signal);
    const store = this.existing(namespace, [startId]);
    const nodeLabels = new Set(options.nodeLabels);
    const steps: TraversalStep[] = [{ node: copyNode(store.nodes.get(startId)!), depth: 0 }];
    const seen = new Set([startId]);
    const budget = new Budget(options.visitBudget);
    let frontier = [startId];
    for (let depth = 1; depth <= options.maxDepth && frontier.length > 0; depth++) {
      throwIfAborted(options.signal);
      const next: string[] = [];
      for (const id of frontier) {
        for (const hop of this.hops(store, id, options.direction, options.edgeLabels)) {
          budget.spend();
          if (seen.has(hop.otherId)) continue;
          const other = store.nodes.get(hop.otherId)!;
          if (nodeLabels.size > 0 && !nodeLabels.has(other.label)) continue;
          seen.add(hop.otherId);
          steps.push({ node: copyNode(other), depth, via: copyEdge(hop.edge) });
          if (steps.length >= options.limit) return steps.slice(0, options.limit);
          next.push(hop.otherId);
        }
      }
      frontier = next;
    }
    return steps.slice(0, options.limit);
  }

  async shortestPath(
    namespace: string,
    fromId: string,
    toId: string,
    options: ShortestPathOptions,
  ): Promise<{ nodes: GraphNode[]; edges: GraphEdge[] } | undefined> {
    throwIfAborted(options.signal);
    const store = this.existing(namespace, [fromId, toId]);
    // Each reached node → the edge it was reached through and the node it came from.
    const reachedBy = new Map<string, { edge: GraphEdge; previous: string } | undefined>([
      [fromId, undefined],
    ]);
    const budget = new Budget(options.visitBudget);
    let frontier = [fromId];
    for (let depth = 1; depth <= options.maxDepth && frontier.length > 0 && !reachedBy.has(toId); depth++) {
      throwIfAborted(options.signal);
      const next: string[] = [];
      for (const id of frontier) {
        for (const hop of this.hops(store, id, options.direction, options.edgeLabels)) {
          budget.spend();
          if (reachedBy.has(hop.otherId)) continue;
          reachedBy.set(hop.otherId, { edge: hop.edge, previous: id });
          next.push(hop.otherId);
        }
        if (reachedBy.has(toId)) break;
      }
      frontier = next;
    }
    if (!reachedBy.has(toId)) return undefined;
    const nodes = [copyNode(store.nodes.get(toId)!)];
    const edges: GraphEdge[] = [];
    for (let step = reachedBy.get(toId); step; step = reachedBy.get(step.previous)) {
      edges.unshift(copyEdge(step.edge));
      nodes.unshift(copyNode(store.nodes.get(step.previous)!));
    }
    return { nodes, edges };
  }

  async getEdges(namespace: string, refs: EdgeRef[], options: CallOptions): Promise<GraphEdge[]> {
    throwIfAborted(options.signal);
    const store = this.namespaces.get(namespace);
    if (!store) return [];
    const found = new Map<string, GraphEdge>();
    for (const { fromId, toId, label } of refs) {
      const key = JSON.stringify([fromId, toId, label]);
      const e = store.out.get(fromId)?.get(pairKey(label, toId));
      if (e && !found.has(key)) found.set(key, copyEdge(e));
    }
    return [...found.values()];
  }

  /** Nodes in id order (UTF-8 bytes), after the cursor's id. */
  async scanNodes(
    namespace: string,
    options: GraphScanOptions,
  ): Promise<{ nodes: GraphNode[]; cursor?: string }> {
    throwIfAborted(options.signal);
    const [after] =
      options.cursor === undefined ? [] : decodeScanCursor(NODE_CURSOR, namespace, options.cursor, 1);
    const nodes = [...(this.namespaces.get(namespace)?.nodes.values() ?? [])]
      .filter((n) => after === undefined || compareUtf8(n.id, after) > 0)
      .sort((a, b) => compareUtf8(a.id, b.id));
    const page = nodes.slice(0, options.limit).map(copyNode);
    const last = page.at(-1);
    return nodes.length > options.limit && last
      ? { nodes: page, cursor: encodeScanCursor(NODE_CURSOR, namespace, [last.id]) }
      : { nodes: page };
  }

  /** Edges in (fromId, toId, label) order (UTF-8 bytes), after the cursor's edge. */
  async scanEdges(
    namespace: string,
    options: GraphScanOptions,
  ): Promise<{ edges: GraphEdge[]; cursor?: string }> {
    throwIfAborted(options.signal);
    const after =
      options.cursor === undefined ? undefined : decodeScanCursor(EDGE_CURSOR, namespace, options.cursor, 3);
    const key = (e: GraphEdge) => [e.fromId, e.toId, e.label];
    const compare = (a: string[], b: string[]) =>
      compareUtf8(a[0]!, b[0]!) || compareUtf8(a[1]!, b[1]!) || compareUtf8(a[2]!, b[2]!);
    const edges = [...(this.namespaces.get(namespace)?.out.values() ?? [])]
      .flatMap((byPair) => [...byPair.values()])
      .filter((e) => after === undefined || compare(key(e), after) > 0)
      .sort((a, b) => compare(key(a), key(b)));
    const page = edges.slice(0, options.limit).map(copyEdge);
    const last = page.at(-1);
    return edges.length > options.limit && last
      ? { edges: page, cursor: encodeScanCursor(EDGE_CURSOR, namespace, key(last)) }
      : { edges: page };
  }

  /** The namespace's store, after checking every id names a node (NODE_NOT_FOUND otherwise). */
  private existing(namespace: string, ids: string[]): Store {
    const store = this.namespaces.get(namespace);
    for (const id of ids) if (!store?.nodes.has(id)) throw nodeNotFound(id);
    return store!;
  }

  private hops(store: Store, id: string, direction: Direction, edgeLabels: string[]): Hop[] {
    const labels = new Set(edgeLabels);
    const hops: Hop[] = [];
    const wanted = (e: GraphEdge) => labels.size === 0 || labels.has(e.label);
    if (direction !== "in") {
      for (const e of store.out.get(id)?.values() ?? []) {
        if (wanted(e)) hops.push({ edge: e, direction: "out", otherId: e.toId });
      }
    }
    if (direction !== "out") {
      for (const e of store.in.get(id)?.values() ?? []) {
        if (wanted(e)) hops.push({ edge: e, direction: "in", otherId: e.fromId });
      }
    }
    return hops;
  }

  private store(namespace: string): Store {
    let store = this.namespaces.get(namespace);
    if (!store) {
      store = { nodes: new Map(), out: new Map(), in: new Map() };
      this.namespaces.set(namespace, store);
    }
    return store;
  }
}

/** Counts edges examined; throws TRAVERSAL_BUDGET_EXCEEDED past the budget. */
class Budget {
  private spent = 0;
  constructor(private readonly limit: number) {}

  spend(): void {
    if (++this.spent > this.limit) {
      throw visitBudgetExceeded(this.limit);
    }
  }
}

/** Neighbor cursor order: other node's id, edge label (UTF-8 bytes), `out` before `in`. */
function compareHops(hop: Hop, cursor: Hop | NeighborCursor): number {
  const [otherId, label, direction] =
    "otherId" in cursor
      ? [cursor.otherId, cursor.edge.label, cursor.direction]
      : [cursor.nodeId, cursor.label, cursor.direction];
  return (
    compareUtf8(hop.otherId, otherId) ||
    compareUtf8(hop.edge.label, label) ||
    (hop.direction === direction ? 0 : hop.direction === "out" ? -1 : 1)
  );
}

/**
 * The kinds of this backend's scan cursors (`@prism/core` `encodeScanCursor`), holding the key of
 * the last node (`[id]`) or edge (`[fromId, toId, label]`) returned. Under 2 KiB: ids are at most
 * 256 bytes, labels 128.
 */
const NODE_CURSOR = "memory-nodes-1";
const EDGE_CURSOR = "memory-edges-1";

/** A map key for (label, node id); labels hold no control characters, so U+0000 separates. */
const pairKey = (label: string, id: string): string => `${label}\u0000${id}`;

function slot(index: Map<string, Map<string, GraphEdge>>, id: string): Map<string, GraphEdge> {
  let edges = index.get(id);
  if (!edges) {
    edges = new Map();
    index.set(id, edges);
  }
  return edges;
}

function copyProperties(properties: Record<string, PropertyValue>): Record<string, PropertyValue> {
  // fromEntries: a property named __proto__ stays an own property.
  return Object.fromEntries(
    Object.entries(properties).map(([name, value]) => [
      name,
      value instanceof Uint8Array ? new Uint8Array(value) : value,
    ]),
  );
}

const copyNode = (n: GraphNode): GraphNode => ({
  id: n.id,
  label: n.label,
  properties: copyProperties(n.properties),
});

const copyEdge = (e: GraphEdge): GraphEdge => ({
  fromId: e.fromId,
  toId: e.toId,
  label: e.label,
  properties: copyProperties(e.properties),
});
