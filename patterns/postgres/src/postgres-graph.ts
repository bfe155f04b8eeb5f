import {
  type CallOptions,
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
  type NeighborsOptions,
  nodeNotFound,
  PrismError,
  type ShortestPathOptions,
  type TraversalStep,
  type TraverseOptions,
  throwIfAborted,
  visitBudgetExceeded,
  type WriteOptions,
} from "@prism/core";
import { decodeProperties, encodeProperties } from "./graph-properties.js";
import type { GraphStatements } from "./graph-sql.js";
import type { PostgresPool } from "./postgres-pool.js";
import { bound, type Statement } from "./sql.js";

interface NodeRow {
  id: string;
  label: string;
  properties: unknown;
}

interface EdgeRow {
  from_id: string;
  to_id: string;
  label: string;
  properties: unknown;
}

/** A Neighbors row; all null for a node without neighbors. */
interface NeighborRow {
  dir: number | null;
  from_id: string;
  to_id: string;
  label: string;
  properties: unknown;
  node_label: string;
  node_properties: unknown;
}

/** A Traverse or ShortestPath row: the verdict, then one reached node (all null when none). */
interface WalkRow {
  exceeded: boolean | null;
  target_exists?: boolean;
  depth: number | null;
  id: string;
  via_from: string | null;
  via_to: string;
  via_label: string;
  label: string;
  properties: unknown;
  via_properties: unknown;
}

type ReachedRow = WalkRow & { depth: number };

/** How often an edge batch is tried again after a node it names was deleted under it. */
const ENDPOINT_RACE_RETRIES = 3;

/** SQLSTATE foreign_key_violation. */
const FOREIGN_KEY_VIOLATION = "23503";

/**
 * The Graph pattern in PostgreSQL (ADR-0014): `graph_nodes` and `graph_edges` keyed by namespace,
 * edges indexed from both ends and tied to their nodes by foreign keys (`ON DELETE CASCADE`).
 * Every call is one prepared statement: batches go in as arrays, Neighbors is an index range scan
 * from a keyset cursor, and Traverse and ShortestPath run breadth-first inside the database as a
 * recursive query bounded by depth, limit and the visit budget (see graph-sql.ts).
 */
export class PostgresGraph implements GraphBackend {
  readonly capabilities: GraphCapabilities = { nativeTraversal: true };

  constructor(
    private readonly pool: PostgresPool,
    private readonly sql: GraphStatements,
  ) {}

  async upsertNodes(namespace: string, nodes: GraphNode[], options: WriteOptions): Promise<number> {
    throwIfAborted(options.signal);
    if (nodes.length === 0) return 0;
    // One row per id, the last one given: a batch is as if upserted in order.
    const unique = [...new Map(nodes.map((node) => [node.id, node])).values()];
    await this.query(this.sql.upsertNodes, options.signal, [
      namespace,
      unique.map((node) => node.id),
      unique.map((node) => node.label),
      unique.map((node) => encodeProperties(node.properties)),
    ]);
    return nodes.length;
  }

  async upsertEdges(namespace: string, edges: GraphEdge[], options: WriteOptions): Promise<number> {
    throwIfAborted(options.signal);
    if (edges.length === 0) return 0;
    // The endpoint check reports the first missing node in request order, so it sees the whole
    // batch; repeats of one edge collapse to the last, as if upserted in order.
    const last = new Map(edges.map((edge) => [edgeKey(edge), edge]));
    const values = [
      namespace,
      edges.map((edge) => edge.fromId),
      edges.map((edge) => edge.toId),
      edges.map((edge) => edge.label),
      edges.map((edge) => (last.get(edgeKey(edge)) === edge ? encodeProperties(edge.properties) : null)),
    ];
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.pool.run(options.signal, async (client) => {
        try {
          const { rows } = await client.query<{ missing: string | null }>(
            bound(this.sql.upsertEdges, values),
          );
          return { missing: rows[0]?.missing ?? undefined, raced: false };
        } catch (error) {
          if (sqlState(error) !== FOREIGN_KEY_VIOLATION) throw error;
          return { missing: undefined, raced: true };
        }
      });
      if (outcome.missing !== undefined) throw edgeEndpointMissing(outcome.missing);
      if (!outcome.raced) return edges.length;
      if (attempt >= ENDPOINT_RACE_RETRIES) {
        throw new PrismError("Conflict", "nodes of the batch were deleted while it was written; retry");
      }
    }
  }

  async getNodes(namespace: string, ids: string[], options: CallOptions): Promise<GraphNode[]> {
    throwIfAborted(options.signal);
    if (ids.length === 0) return [];
    const rows = await this.query<NodeRow>(this.sql.getNodes, options.signal, [namespace, [...new Set(ids)]]);
    return rows.map(toNode);
  }

  async deleteNodes(namespace: string, ids: string[], options: WriteOptions): Promise<number> {
    throwIfAborted(options.signal);
    if (ids.length === 0) return 0;
    return this.count(this.sql.deleteNodes, options.signal, [namespace, ids]);
  }

  async deleteEdges(namespace: string, edges: EdgeRef[], options: WriteOptions): Promise<number> {
    throwIfAborted(options.signal);
    if (edges.length === 0) return 0;
    return this.count(this.sql.deleteEdges, options.signal, [
      namespace,
      edges.map((edge) => edge.fromId),
      edges.map((edge) => edge.toId),
      edges.map((edge) => edge.label),
    ]);
  }

  async neighbors(
    namespace: string,
    nodeId: string,
    options: NeighborsOptions,
  ): Promise<{ neighbors: Neighbor[]; more: boolean }> {
    throwIfAborted(options.signal);
    const { after } = options;
    const rows = await this.query<NeighborRow>(this.sql.neighbors[options.direction], options.signal, [
      namespace,
      nodeId,
      after?.nodeId ?? "",
      after?.label ?? "",
      after?.direction === "in" ? 1 : 0,
      options.edgeLabels,
      options.limit,
    ]);
    if (rows.length === 0) throw nodeNotFound(nodeId);
    const neighbors: Neighbor[] = [];
    for (const row of rows) {
      if (row.dir === null) break;
      const edge = toEdge(row.from_id, row.to_id, row.label, row.properties);
      const out = row.dir === 0;
      const id = out ? row.to_id : row.from_id;
      neighbors.push({
        edge,
        direction: out ? "out" : "in",
        node: { id, label: row.node_label, properties: decodeProperties(row.node_properties) },
      });
    }
    const more = neighbors.length > options.limit;
    return { neighbors: more ? neighbors.slice(0, options.limit) : neighbors, more };
  }

  async traverse(namespace: string, startId: string, options: TraverseOptions): Promise<TraversalStep[]> {
    throwIfAborted(options.signal);
    const rows = await this.walk(this.sql.traverse[options.direction], namespace, startId, options, [
      options.nodeLabels,
      options.limit,
    ]);
    return rows.map((row) => ({
      node: toNode(row),
      depth: row.depth,
      ...(row.via_from !== null && {
        via: toEdge(row.via_from, row.via_to, row.via_label, row.via_properties),
      }),
    }));
  }

  async shortestPath(
    namespace: string,
    fromId: string,
    toId: string,
    options: ShortestPathOptions,
  ): Promise<{ nodes: GraphNode[]; edges: GraphEdge[] } | undefined> {
    throwIfAborted(options.signal);
    const statement = this.sql.shortestPath[options.direction];
    const rows = await this.walk(statement, namespace, fromId, options, [toId], toId);
    if (rows.length === 0) return undefined;
    const edges: GraphEdge[] = [];
    for (const row of rows.slice(1)) {
      edges.push(toEdge(row.via_from!, row.via_to, row.via_label, row.via_properties));
    }
    return { nodes: rows.map(toNode), edges };
  }

  async getEdges(namespace: string, refs: EdgeRef[], options: CallOptions): Promise<GraphEdge[]> {
    throwIfAborted(options.signal);
    if (refs.length === 0) return [];
    // A repeated ref is returned once, at its first position.
    const unique = [...new Map(refs.map((ref) => [edgeKey(ref), ref])).values()];
    const rows = await this.query<EdgeRow>(this.sql.getEdges, options.signal, [
      namespace,
      unique.map((ref) => ref.fromId),
      unique.map((ref) => ref.toId),
      unique.map((ref) => ref.label),
    ]);
    return rows.map((row) => toEdge(row.from_id, row.to_id, row.label, row.properties));
  }

  /** Nodes in id order (the primary key's), after the cursor's id. */
  async scanNodes(
    namespace: string,
    options: GraphScanOptions,
  ): Promise<{ nodes: GraphNode[]; cursor?: string }> {
    throwIfAborted(options.signal);
    const [afterId = ""] =
      options.cursor === undefined ? [] : decodeScanCursor(NODE_CURSOR, namespace, options.cursor, 1);
    const rows = await this.query<NodeRow>(this.sql.scanNodes, options.signal, [
      namespace,
      afterId,
      options.limit,
    ]);
    const nodes = rows.slice(0, options.limit).map(toNode);
    const last = nodes.at(-1);
    return rows.length > options.limit && last
      ? { nodes, cursor: encodeScanCursor(NODE_CURSOR, namespace, [last.id]) }
      : { nodes };
  }

  /** Edges in (fromId, toId, label) order (the primary key's), after the cursor's edge. */
  async scanEdges(
    namespace: string,
    options: GraphScanOptions,
  ): Promise<{ edges: GraphEdge[]; cursor?: string }> {
    throwIfAborted(options.signal);
    const after =
      options.cursor === undefined
        ? ["", "", ""]
        : decodeScanCursor(EDGE_CURSOR, namespace, options.cursor, 3);
    const rows = await this.query<EdgeRow>(this.sql.scanEdges, options.signal, [
      namespace,
      ...after,
      options.limit,
    ]);
    const edges = rows
      .slice(0, options.limit)
      .map((row) => toEdge(row.from_id, row.to_id, row.label, row.properties));
    const last = edges.at(-1);
    return rows.length > options.limit && last
      ? { edges, cursor: encodeScanCursor(EDGE_CURSOR, namespace, [last.fromId, last.toId, last.label]) }
      : { edges };
  }

  /**
   * Runs a breadth-first statement and checks its verdict: NODE_NOT_FOUND for a start (or, for a
   * path, a target) that does not exist, TRAVERSAL_BUDGET_EXCEEDED when the walk would have
   * examined more edges than the budget. Returns the rows of the nodes reached, in depth order.
   */
  private async walk(
    statement: Statement,
    namespace: string,
    startId: string,
    options: TraverseOptions | ShortestPathOptions,
    extra: unknown[],
    targetId?: string,
  ): Promise<ReachedRow[]> {
    const rows = await this.query<WalkRow>(statement, options.signal, [
      namespace,
      startId,
      options.maxDepth,
      options.edgeLabels,
      options.visitBudget,
      ...extra,
    ]);
    const verdict = rows[0];
    // No level at all: the start node does not exist.
    if (verdict === undefined || verdict.exceeded === null) throw nodeNotFound(startId);
    if (targetId !== undefined && verdict.target_exists === false) throw nodeNotFound(targetId);
    if (verdict.exceeded) {
      throw visitBudgetExceeded(options.visitBudget);
    }
    return rows.filter((row): row is ReachedRow => row.depth !== null);
  }

  private async count(statement: Statement, signal: AbortSignal | undefined, values: unknown[]) {
    const result = await this.pool.run(signal, (client) => client.query(bound(statement, values)));
    return result.rowCount ?? 0;
  }

  private async query<R>(statement: Statement, signal: AbortSignal | undefined, values: unknown[]) {
    const result = await this.pool.run(signal, (client) => client.query<R>(bound(statement, values)));
    return result.rows;
  }
}

const edgeKey = (edge: EdgeRef): string => JSON.stringify([edge.fromId, edge.toId, edge.label]);

function toNode(row: { id: string; label: string; properties: unknown }): GraphNode {
  return { id: row.id, label: row.label, properties: decodeProperties(row.properties) };
}

function toEdge(fromId: string, toId: string, label: string, properties: unknown): GraphEdge {
  return { fromId, toId, label, properties: decodeProperties(properties) };
}

/**
 * The kinds of this backend's scan cursors (`@prism/core` `encodeScanCursor`), holding the key of
 * the last node (`[id]`) or edge (`[fromId, toId, label]`) returned. Under 2 KiB: ids are at most
 * 256 bytes, labels 128.
 */
const NODE_CURSOR = "postgres-nodes-1";
const EDGE_CURSOR = "postgres-edges-1";

/** The SQLSTATE of a server error, if `error` is one. */
function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
