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
import { decodeProperties, encodeProperties } from "./sqlite-graph-properties.js";
import { directionParams, type EdgeRow, type HopRow, type NodeRow, SQL } from "./sqlite-graph-sql.js";
import type { SqliteDatabase, SqliteStatement } from "./sqlite-types.js";

/**
 * Graph on SQLite (`graph_nodes`, `graph_edges`; schema version 3). Traverse and ShortestPath are
 * breadth-first searches driven from here, one query per level (the frontier passed as a JSON
 * array to `json_each`), inside one read transaction so every level sees the same snapshot. Not
 * declared native: the store answers one level at a time, not the whole traversal. The visit
 * budget counts the edges the level queries return (those passing the label filter); a search
 * stops reading the moment it would pass it.
 */
export class SqliteGraph implements GraphBackend {
  readonly capabilities: GraphCapabilities = { nativeTraversal: false };
  private readonly sql: { [K in keyof typeof SQL]: SqliteStatement };
  private readonly db: SqliteDatabase;

  constructor(db: SqliteDatabase) {
    this.db = db;
    this.sql = Object.fromEntries(
      Object.entries(SQL).map(([name, text]) => [name, db.prepare(text)]),
    ) as typeof this.sql;
  }

  async upsertNodes(namespace: string, nodes: GraphNode[], options: WriteOptions): Promise<number> {
    throwIfAborted(options.signal);
    return this.run("upsert nodes", () => {
      for (const n of nodes) {
        this.sql.upsertNode.run({
          namespace,
          id: n.id,
          label: n.label,
          properties: encodeProperties(n.properties),
        });
      }
      return nodes.length;
    });
  }

  async upsertEdges(namespace: string, edges: GraphEdge[], options: WriteOptions): Promise<number> {
    throwIfAborted(options.signal);
    return this.run("upsert edges", () => {
      const known = new Set<string>();
      for (const e of edges) {
        for (const id of [e.fromId, e.toId]) {
          if (known.has(id)) continue;
          if (!this.sql.nodeExists.get({ namespace, id })) throw edgeEndpointMissing(id);
          known.add(id);
        }
      }
      for (const e of edges) {
        const { fromId, toId, label } = e;
        this.sql.upsertEdge.run({
          namespace,
          fromId,
          toId,
          label,
          properties: encodeProperties(e.properties),
        });
      }
      return edges.length;
    });
  }

  async getNodes(namespace: string, ids: string[], options: CallOptions): Promise<GraphNode[]> {
    throwIfAborted(options.signal);
    if (ids.length === 0) return [];
    return this.run("get nodes", () => {
      const found = new Map<string, GraphNode>();
      for (const row of this.sql.getNodes.iterate({
        namespace,
        ids: JSON.stringify(ids),
      }) as Iterable<NodeRow>) {
        found.set(row.id, toNode(row.id, row.label, row.properties));
      }
      return [...new Set(ids)].flatMap((id) => found.get(id) ?? []);
    });
  }

  async deleteNodes(namespace: string, ids: string[], options: WriteOptions): Promise<number> {
    throwIfAborted(options.signal);
    return this.run("delete nodes", () => {
      let deleted = 0;
      for (const id of ids) {
        if (this.sql.deleteNode.run({ namespace, id }).changes === 0) continue;
        deleted++;
        this.sql.deleteOut.run({ namespace, id });
        this.sql.deleteIn.run({ namespace, id });
      }
      return deleted;
    });
  }

  async deleteEdges(namespace: string, edges: EdgeRef[], options: WriteOptions): Promise<number> {
    throwIfAborted(options.signal);
    return this.run("delete edges", () => {
      let deleted = 0;
      for (const { fromId, toId, label } of edges) {
        deleted += this.sql.deleteEdge.run({ namespace, fromId, toId, label }).changes;
      }
      return deleted;
    });
  }

  async neighbors(
    namespace: string,
    nodeId: string,
    options: NeighborsOptions,
  ): Promise<{ neighbors: Neighbor[]; more: boolean }> {
    throwIfAborted(options.signal);
    return this.run("neighbors", () => {
      this.requireNodes(namespace, [nodeId]);
      const { after } = options;
      const rows = [
        ...(this.sql.neighbors.iterate({
          namespace,
          id: nodeId,
          ...directionParams(options.direction),
          labels: JSON.stringify(options.edgeLabels),
          afterOther: after?.nodeId ?? null,
          afterLabel: after?.label ?? null,
          afterDir: after ? (after.direction === "out" ? 0 : 1) : null,
          limit: options.limit + 1,
        }) as Iterable<HopRow>),
      ];
      const neighbors = rows.slice(0, options.limit).map(
        (row): Neighbor => ({
          edge: toEdge(row),
          direction: row.dir === 0 ? "out" : "in",
          node: toNode(row.other, row.node_label, row.node_properties),
        }),
      );
      return { neighbors, more: rows.length > options.limit };
    });
  }

  async traverse(namespace: string, startId: string, options: TraverseOptions): Promise<TraversalStep[]> {
    throwIfAborted(options.signal);
    return this.run("traverse", () => {
      const [start] = this.requireNodes(namespace, [startId]);
      const nodeLabels = new Set(options.nodeLabels);
      const steps: TraversalStep[] = [{ node: start!, depth: 0 }];
      if (steps.length >= options.limit) return steps;
      const seen = new Set([startId]);
      const levels = new Levels(this.sql.expand, namespace, options);
      let frontier = [startId];
      for (let depth = 1; depth <= options.maxDepth && frontier.length > 0; depth++) {
        const next: string[] = [];
        for (const row of levels.expand(frontier)) {
          if (seen.has(row.other)) continue;
          if (nodeLabels.size > 0 && !nodeLabels.has(row.node_label)) continue;
          seen.add(row.other);
          steps.push({
            node: toNode(row.other, row.node_label, row.node_properties),
            depth,
            via: toEdge(row),
          });
          if (steps.length >= options.limit) return steps;
          next.push(row.other);
        }
        frontier = next;
      }
      return steps;
    });
  }

  async shortestPath(
    namespace: string,
    fromId: string,
    toId: string,
    options: ShortestPathOptions,
  ): Promise<{ nodes: GraphNode[]; edges: GraphEdge[] } | undefined> {
    throwIfAborted(options.signal);
    return this.run("shortest path", () => {
      const [from, to] = this.requireNodes(namespace, [fromId, toId]);
      if (fromId === toId) return { nodes: [from!], edges: [] };
      // Each reached node → the row it was reached through (whose other end is the previous node).
      const reachedBy = new Map<string, HopRow | undefined>([[fromId, undefined]]);
      const levels = new Levels(this.sql.expand, namespace, options);
      let frontier = [fromId];
      for (let depth = 1; depth <= options.maxDepth && frontier.length > 0; depth++) {
        const next: string[] = [];
        for (const row of levels.expand(frontier)) {
          if (reachedBy.has(row.other)) continue;
          reachedBy.set(row.other, row);
          if (row.other === toId) return pathTo(reachedBy, from!, to!);
          next.push(row.other);
        }
        frontier = next;
      }
      return undefined;
    });
  }

  async getEdges(namespace: string, refs: EdgeRef[], options: CallOptions): Promise<GraphEdge[]> {
    throwIfAborted(options.signal);
    if (refs.length === 0) return [];
    return this.run("get edges", () => {
      const found = new Map<string, GraphEdge>();
      for (const { fromId, toId, label } of refs) {
        const key = JSON.stringify([fromId, toId, label]);
        if (found.has(key)) continue;
        const row = this.sql.getEdge.get({ namespace, fromId, toId, label }) as EdgeRow | undefined;
        if (row) found.set(key, toEdge(row));
      }
      return [...found.values()];
    });
  }

  /** Nodes in id order (the primary key's), after the cursor's id. */
  async scanNodes(
    namespace: string,
    options: GraphScanOptions,
  ): Promise<{ nodes: GraphNode[]; cursor?: string }> {
    throwIfAborted(options.signal);
    const [afterId = ""] =
      options.cursor === undefined ? [] : decodeScanCursor(NODE_CURSOR, namespace, options.cursor, 1);
    return this.run("scan nodes", () => {
      const rows = [
        ...this.sql.scanNodes.iterate({ namespace, afterId, limit: options.limit + 1 }),
      ] as NodeRow[];
      const nodes = rows.slice(0, options.limit).map((row) => toNode(row.id, row.label, row.properties));
      const last = nodes.at(-1);
      return rows.length > options.limit && last
        ? { nodes, cursor: encodeScanCursor(NODE_CURSOR, namespace, [last.id]) }
        : { nodes };
    });
  }

  /** Edges in (fromId, label, toId) order (the primary key's), after the cursor's edge. */
  async scanEdges(
    namespace: string,
    options: GraphScanOptions,
  ): Promise<{ edges: GraphEdge[]; cursor?: string }> {
    throwIfAborted(options.signal);
    const [afterFrom = "", afterTo = "", afterLabel = ""] =
      options.cursor === undefined ? [] : decodeScanCursor(EDGE_CURSOR, namespace, options.cursor, 3);
    return this.run("scan edges", () => {
      const limit = options.limit + 1;
      const rows = [
        ...this.sql.scanEdges.iterate({ namespace, afterFrom, afterLabel, afterTo, limit }),
      ] as EdgeRow[];
      const edges = rows.slice(0, options.limit).map(toEdge);
      const last = edges.at(-1);
      return rows.length > options.limit && last
        ? { edges, cursor: encodeScanCursor(EDGE_CURSOR, namespace, [last.fromId, last.toId, last.label]) }
        : { edges };
    });
  }

  /** The nodes with these ids, in order; NODE_NOT_FOUND names the first that does not exist. */
  private requireNodes(namespace: string, ids: string[]): GraphNode[] {
    const rows = new Map<string, NodeRow>();
    for (const row of this.sql.getNodes.iterate({
      namespace,
      ids: JSON.stringify(ids),
    }) as Iterable<NodeRow>) {
      rows.set(row.id, row);
    }
    return ids.map((id) => {
      const row = rows.get(id);
      if (!row) throw nodeNotFound(id);
      return toNode(row.id, row.label, row.properties);
    });
  }

  /**
   * Runs `work` in one transaction, mapping driver errors: writes are all or nothing, and a
   * search's levels read one snapshot (BEGIN is deferred, so reads take no write lock).
   */
  private run<T>(operation: string, work: () => T): T {
    try {
      return this.db.transaction(work)();
    } catch (error) {
      throw sqliteError(error, operation);
    }
  }
}

/**
 * The levels of one breadth-first search: each `expand` is one query for a whole frontier, and
 * all of them share the visit budget. Rows are read one at a time, so the search stops reading
 * (and fails) on the first edge past the budget, and a caller that has what it needs stops early.
 */
class Levels {
  private spent = 0;
  private readonly params: Record<string, unknown>;

  constructor(
    private readonly statement: SqliteStatement,
    namespace: string,
    private readonly options: Pick<TraverseOptions, "direction" | "edgeLabels" | "visitBudget" | "signal">,
  ) {
    this.params = {
      namespace,
      ...directionParams(options.direction),
      labels: JSON.stringify(options.edgeLabels),
    };
  }

  *expand(frontier: string[]): Generator<HopRow> {
    throwIfAborted(this.options.signal);
    const budget = this.options.visitBudget;
    const limit = budget - this.spent + 1;
    for (const row of this.statement.iterate({
      ...this.params,
      frontier: JSON.stringify(frontier),
      limit,
    }) as Iterable<HopRow>) {
      if (++this.spent > budget) throw visitBudgetExceeded(budget);
      yield row;
    }
  }
}

function pathTo(
  reachedBy: Map<string, HopRow | undefined>,
  from: GraphNode,
  to: GraphNode,
): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes = [to];
  const edges: GraphEdge[] = [];
  for (let row = reachedBy.get(to.id); row; ) {
    const previous = row.dir === 0 ? row.from_id : row.to_id;
    edges.unshift(toEdge(row));
    const before = reachedBy.get(previous);
    nodes.unshift(before ? toNode(before.other, before.node_label, before.node_properties) : from);
    row = before;
  }
  return { nodes, edges };
}

const toNode = (id: string, label: string, properties: string): GraphNode => ({
  id,
  label,
  properties: decodeProperties(properties),
});

const toEdge = (row: EdgeRow): GraphEdge => ({
  fromId: row.from_id,
  toId: row.to_id,
  label: row.label,
  properties: decodeProperties(row.properties),
});

/**
 * The kinds of this backend's scan cursors (`@prism/core` `encodeScanCursor`), holding the key of
 * the last node (`[id]`) or edge (`[fromId, toId, label]`) returned. Under 2 KiB: ids are at most
 * 256 bytes, labels 128.
 */
const NODE_CURSOR = "sqlite-nodes-1";
const EDGE_CURSOR = "sqlite-edges-1";

function sqliteError(error: unknown, operation: string): unknown {
  if (error instanceof PrismError) return error;
  const code = (error as { code?: string }).code ?? "";
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new PrismError("Unavailable", "sqlite database is busy", { cause: error });
  }
  if (code === "SQLITE_FULL")
    return new PrismError("ResourceExhausted", "sqlite database is full", { cause: error });
  return new PrismError("Internal", `sqlite graph ${operation} failed`, { cause: error });
}
