import type { Direction } from "@prism/core";

/**
 * The Graph statements (tables in sqlite-schema.ts, version 3). A hop row carries the edge, which
 * way it was followed (`dir` 0 = out, 1 = in), the node at its other end and that node's data.
 */
const NS = "namespace = @namespace";
const LABELS = "(@labels = '[]' OR e.label IN (SELECT value FROM json_each(@labels)))";
const HOP_COLUMNS = "e.from_id, e.to_id, e.label, e.properties";
/** Joins each hop to the node at its other end: every edge's endpoints exist. */
const OTHER_NODE = `JOIN graph_nodes n ON n.namespace = @namespace AND n.id = h.other`;
const HOP_ROW =
  "h.other, h.dir, h.from_id, h.to_id, h.label, h.properties, n.label AS node_label, n.properties AS node_properties";

/** Every Graph statement, prepared once per database. `dir` is 0 for out, 1 for in. */
export const SQL = {
  upsertNode: `INSERT INTO graph_nodes (namespace, id, label, properties) VALUES (@namespace, @id, @label, @properties)
               ON CONFLICT (namespace, id) DO UPDATE SET label = excluded.label, properties = excluded.properties`,
  nodeExists: `SELECT 1 AS found FROM graph_nodes WHERE ${NS} AND id = @id`,
  getNodes: `SELECT id, label, properties FROM graph_nodes
             WHERE ${NS} AND id IN (SELECT value FROM json_each(@ids))`,
  deleteNode: `DELETE FROM graph_nodes WHERE ${NS} AND id = @id`,
  deleteOut: `DELETE FROM graph_edges WHERE ${NS} AND from_id = @id`,
  deleteIn: `DELETE FROM graph_edges WHERE ${NS} AND to_id = @id`,
  upsertEdge: `INSERT INTO graph_edges (namespace, from_id, to_id, label, properties)
               VALUES (@namespace, @fromId, @toId, @label, @properties)
               ON CONFLICT (namespace, from_id, label, to_id) DO UPDATE SET properties = excluded.properties`,
  deleteEdge: `DELETE FROM graph_edges WHERE ${NS} AND from_id = @fromId AND label = @label AND to_id = @toId`,
  getEdge: `SELECT from_id, to_id, label, properties FROM graph_edges
            WHERE ${NS} AND from_id = @fromId AND label = @label AND to_id = @toId`,
  // Whole-namespace scans in primary key order, from a keyset cursor ('' before every id and label).
  scanNodes: `SELECT id, label, properties FROM graph_nodes WHERE ${NS} AND id > @afterId ORDER BY id LIMIT @limit`,
  scanEdges: `SELECT from_id, to_id, label, properties FROM graph_edges
              WHERE ${NS} AND (from_id, label, to_id) > (@afterFrom, @afterLabel, @afterTo)
              ORDER BY from_id, label, to_id LIMIT @limit`,
  // One node's hops in cursor order (other id, label, out before in; TEXT compares as UTF-8 bytes),
  // sorted per page: the in-branch is pinned to its index like `expand`'s (see there).
  neighbors: `SELECT ${HOP_ROW} FROM (
                SELECT e.to_id AS other, 0 AS dir, ${HOP_COLUMNS} FROM graph_edges e
                WHERE @out AND e.namespace = @namespace AND e.from_id = @id AND ${LABELS}
                UNION ALL
                SELECT e.from_id AS other, 1 AS dir, ${HOP_COLUMNS} FROM graph_edges e INDEXED BY graph_edges_in
                WHERE @in AND e.namespace = @namespace AND e.to_id = @id AND ${LABELS}
              ) h ${OTHER_NODE}
              WHERE @afterOther IS NULL OR (h.other, h.label, h.dir) > (@afterOther, @afterLabel, @afterDir)
              ORDER BY h.other, h.label, h.dir LIMIT @limit`,
  // Every hop out of a whole BFS level at once: the frontier is a JSON array of ids. CROSS JOIN and
  // INDEXED BY pin the plan (frontier outside, an index seek per id): without statistics the
  // planner would rather scan the namespace's edges.
  expand: `SELECT ${HOP_ROW} FROM (
             SELECT e.to_id AS other, 0 AS dir, ${HOP_COLUMNS}
             FROM json_each(@frontier) f CROSS JOIN graph_edges e ON e.namespace = @namespace AND e.from_id = f.value
             WHERE @out AND ${LABELS}
             UNION ALL
             SELECT e.from_id AS other, 1 AS dir, ${HOP_COLUMNS}
             FROM json_each(@frontier) f CROSS JOIN graph_edges e INDEXED BY graph_edges_in
               ON e.namespace = @namespace AND e.to_id = f.value
             WHERE @in AND ${LABELS}
           ) h ${OTHER_NODE}
           LIMIT @limit`,
} as const;

export interface NodeRow {
  id: string;
  label: string;
  properties: string;
}

/** An edge row (`getEdge`, `scanEdges`). */
export interface EdgeRow {
  from_id: string;
  to_id: string;
  label: string;
  properties: string;
}

export interface HopRow {
  other: string;
  dir: 0 | 1;
  from_id: string;
  to_id: string;
  label: string;
  properties: string;
  node_label: string;
  node_properties: string;
}

/** The `@out` / `@in` switches of the hop queries. */
export function directionParams(direction: Direction): { out: number; in: number } {
  return { out: direction === "in" ? 0 : 1, in: direction === "out" ? 0 : 1 };
}
