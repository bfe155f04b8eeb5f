/**
 * Every statement the Graph backend runs (ADR-0014), built once per schema at open and named, so
 * `pg` prepares each once per connection (see sql.ts for the conventions). Statements that walk
 * edges come in three variants, one per direction, so each plan reads only the indexes it needs.
 *
 * Text parameters are cast to `text COLLATE "C"` where they meet stored ids and labels: ids and
 * labels compare as UTF-8 bytes, the order `compareUtf8` defines.
 */
import type { Direction } from "@prism/core";
import type { Statement } from "./sql.js";

/** The statements of one schema. */
export type GraphStatements = ReturnType<typeof buildGraphStatements>;

/** A statement per direction. */
export type PerDirection = Readonly<Record<Direction, Statement>>;

/** `text COLLATE "C"`: how ids and labels arrive from parameters. */
const C = 'COLLATE "C"';

/** Builds the statements for tables in `schema` (already validated as a plain identifier). */
export function buildGraphStatements(schema: string) {
  const nodes = `"${schema}".graph_nodes`;
  const edges = `"${schema}".graph_edges`;

  // Every edge as seen from one of its ends: `node` is the end a walk stands on, `other` the end
  // it reaches, `dir` 0 for out (node = from) and 1 for in. The filters on `node` go on this
  // UNION ALL as a whole (not into each branch), so PostgreSQL pushes them into both branches as
  // equivalence classes: that is what lets it merge the two index scans in (other, label) order
  // (a Merge Append) instead of sorting the node's whole edge list.
  const OUT = `SELECT namespace, from_id AS node, to_id AS other, label, 0 AS dir, from_id, to_id, properties FROM ${edges}`;
  const IN = `SELECT namespace, to_id AS node, from_id AS other, label, 1 AS dir, from_id, to_id, properties FROM ${edges}`;
  const hops: Record<Direction, string> = {
    out: `(${OUT})`,
    in: `(${IN})`,
    both: `(${OUT} UNION ALL ${IN})`,
  };
  const labelFilter = (labels: string, column: string) =>
    `(cardinality(${labels}::text[]) = 0 OR ${column} = ANY(${labels}::text[]))`;
  const nodeOf = (namespace: string, id: string) =>
    `(SELECT label, properties FROM ${nodes} WHERE namespace = ${namespace} AND id = ${id} LIMIT 1)`;

  // $1 namespace, $2 node, $3 after other id, $4 after label, $5 after direction (0 out, 1 in;
  // the first page passes '', '', 0: every id and label is non-empty), $6 edge labels, $7 limit.
  // One row per neighbor, at most $7 + 1 (the extra one says that more follow); one row of
  // nulls for a node without neighbors; none for a node that does not exist. The row comparison
  // is given twice: its (other, label) prefix is an index condition, the whole one a filter.
  const neighbors = (direction: Direction): Statement =>
    statement(
      `prism_graph_neighbors_${direction}`,
      `SELECT hop.dir, hop.from_id, hop.to_id, hop.label, hop.properties,
              other.label AS node_label, other.properties AS node_properties
       FROM (SELECT 1 FROM ${nodes} WHERE namespace = $1::text AND id = $2::text ${C}) AS start
       LEFT JOIN LATERAL (
         SELECT * FROM ${hops[direction]} AS adjacent
         WHERE namespace = $1::text AND node = $2::text ${C}
           AND (other, label) >= ($3::text ${C}, $4::text ${C})
           AND (other, label, dir) > ($3::text ${C}, $4::text ${C}, $5::int)
           AND ${labelFilter("$6", "label")}
         ORDER BY other, label, dir
         LIMIT $7::int + 1
       ) AS hop ON true
       LEFT JOIN LATERAL ${nodeOf("$1::text", "hop.other")} AS other ON true
       ORDER BY hop.other, hop.label, hop.dir`,
    );

  const traverse = (direction: Direction): Statement =>
    statement(`prism_graph_traverse_${direction}`, traversal(direction, "traverse"));
  const shortestPath = (direction: Direction): Statement =>
    statement(`prism_graph_shortest_path_${direction}`, traversal(direction, "path"));

  /**
   * Breadth-first search as a recursive CTE with ONE row per depth (a level): the nodes first
   * reached at that depth with the edge each was reached through, every node seen so far (the
   * cycle guard: a node is visited once), and the edges examined so far. A level is computed
   * from the previous one by a LATERAL subquery:
   * - `examined`: the edges of the frontier's nodes (per direction and edge labels), in frontier
   *   order, each with its position `ord`, LIMITed to the budget left + 1 — the work bound: no
   *   level reads more edges than the budget allows, plus the one that proves it exceeded. The
   *   same LIMIT inside the per-node LATERAL keeps that subquery from being flattened, so each
   *   frontier node is an index range scan in a nested loop (flattened, the planner may hash-join
   *   the frontier with every edge of the namespace, which no LIMIT bounds);
   * - `found`: the other ends not seen before, each once, with its first edge (lowest `ord`),
   *   counting only edges within the budget;
   * - traverse: `visited` keeps those with a wanted node label, the first (limit − visited so
   *   far) by `ord`. The budget is exceeded when the level examined more edges than were left
   *   and found fewer nodes than were still wanted — a walk edge by edge in the same order would
   *   have stopped at the limit before examining one edge too many;
   * - path: exceeded when more edges than were left and the target was not found among them.
   * The recursion ends at maxDepth, at an empty level, when the budget is exceeded, when the
   * limit is reached (traverse) or when the target was reached (path).
   */
  function traversal(direction: Direction, kind: "traverse" | "path"): string {
    // traverse: $1 namespace, $2 start, $3 maxDepth, $4 edge labels, $5 budget, $6 node labels, $7 limit.
    // path:     $1 namespace, $2 from,  $3 maxDepth, $4 edge labels, $5 budget, $6 target.
    const keep =
      kind === "traverse"
        ? `SELECT * FROM found
           WHERE cardinality($6::text[]) = 0 OR EXISTS (SELECT 1 FROM ${nodes} AS candidate
             WHERE candidate.namespace = $1::text AND candidate.id = found.other AND candidate.label = ANY($6::text[]))
           ORDER BY ord LIMIT $7::int - l.visited`
        : "SELECT * FROM found";
    const exceeded =
      kind === "traverse"
        ? "count(*) < $7::int - l.visited"
        : `NOT coalesce(bool_or(other = $6::text ${C}), false)`;
    const goOn = kind === "traverse" ? "l.visited < $7::int" : `NOT ($6::text ${C} = ANY(l.ids))`;
    const noVia = `ARRAY[NULL::text ${C}]`;
    return `WITH RECURSIVE level AS (
        SELECT 0 AS depth, ARRAY[id] AS ids, ${noVia} AS via_from, ${noVia} AS via_to, ${noVia} AS via_label,
               ARRAY[id] AS seen, 0::bigint AS examined, 1 AS visited, false AS exceeded
        FROM ${nodes} WHERE namespace = $1::text AND id = $2::text ${C}
        UNION ALL
        SELECT l.depth + 1, step.ids, step.via_from, step.via_to, step.via_label, l.seen || step.ids,
               l.examined + step.examined, l.visited + cardinality(step.ids), step.exceeded
        FROM level AS l CROSS JOIN LATERAL (
          WITH examined AS MATERIALIZED (
            SELECT hop.*, row_number() OVER () AS ord FROM (
              SELECT adjacent.other, adjacent.from_id, adjacent.to_id, adjacent.label
              FROM unnest(l.ids) WITH ORDINALITY AS frontier(id, n)
              CROSS JOIN LATERAL (
                SELECT * FROM ${hops[direction]} AS hop
                WHERE hop.namespace = $1::text AND hop.node = frontier.id AND ${labelFilter("$4", "hop.label")}
                LIMIT $5::bigint - l.examined + 1
              ) AS adjacent
              LIMIT $5::bigint - l.examined + 1
            ) AS hop
          ),
          found AS (
            SELECT DISTINCT ON (other) * FROM examined
            WHERE ord <= $5::bigint - l.examined
              AND NOT EXISTS (SELECT 1 FROM unnest(l.seen) AS seen(id) WHERE seen.id = examined.other)
            ORDER BY other, ord
          ),
          kept AS (${keep})
          SELECT coalesce(array_agg(other ORDER BY ord), '{}') AS ids,
                 array_agg(from_id ORDER BY ord) AS via_from,
                 array_agg(to_id ORDER BY ord) AS via_to,
                 array_agg(label ORDER BY ord) AS via_label,
                 (SELECT count(*) FROM examined) AS examined,
                 (SELECT count(*) FROM examined) > $5::bigint - l.examined AND ${exceeded} AS exceeded
          FROM kept
        ) AS step
        WHERE l.depth < $3::int AND NOT l.exceeded AND cardinality(l.ids) > 0 AND ${goOn}
      ),
      reached AS (
        SELECT l.depth, s.ord, s.id, s.via_from, s.via_to, s.via_label,
               CASE WHEN s.via_to = s.id THEN s.via_from ELSE s.via_to END AS parent
        FROM level AS l
        CROSS JOIN LATERAL unnest(l.ids, l.via_from, l.via_to, l.via_label)
          WITH ORDINALITY AS s(id, via_from, via_to, via_label, ord)
      ),
      ${
        kind === "traverse"
          ? "result AS (SELECT * FROM reached)"
          : `result AS (
               SELECT * FROM reached WHERE id = $6::text ${C}
               UNION ALL
               SELECT reached.* FROM result JOIN reached ON reached.id = result.parent WHERE result.depth > 0
             )`
      },
      verdict AS (SELECT bool_or(exceeded) AS exceeded, max(examined)::text AS examined FROM level)
      SELECT verdict.exceeded, verdict.examined, ${
        kind === "path"
          ? `EXISTS (SELECT 1 FROM ${nodes} WHERE namespace = $1::text AND id = $6::text ${C}) AS target_exists, `
          : ""
      }found.*
      FROM verdict LEFT JOIN LATERAL (
        SELECT result.depth, result.id, result.via_from, result.via_to, result.via_label,
               node.label, node.properties, via.properties AS via_properties
        FROM result
        CROSS JOIN LATERAL ${nodeOf("$1::text", "result.id")} AS node
        LEFT JOIN LATERAL (SELECT properties FROM ${edges} WHERE namespace = $1::text
          AND from_id = result.via_from AND to_id = result.via_to AND label = result.via_label LIMIT 1) AS via ON true
        WHERE NOT verdict.exceeded
        ORDER BY result.depth, result.ord
      ) AS found ON true`;
  }

  const perDirection = (build: (direction: Direction) => Statement): PerDirection =>
    Object.freeze({ out: build("out"), in: build("in"), both: build("both") });

  return Object.freeze({
    // $1 namespace, $2 ids, $3 labels, $4 properties (JSON). Ids unique (the caller keeps the
    // last of a repeated id), inserted in id order so concurrent batches lock rows in one order.
    upsertNodes: statement(
      "prism_graph_upsert_nodes",
      `INSERT INTO ${nodes} AS stored (namespace, id, label, properties)
       SELECT $1::text, n.id, n.label, n.properties
       FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS n(id, label, properties)
       ORDER BY n.id ${C}
       ON CONFLICT (namespace, id) DO UPDATE SET label = EXCLUDED.label, properties = EXCLUDED.properties`,
    ),

    // $1 namespace, $2 from ids, $3 to ids, $4 labels, $5 properties (JSON; null on every repeat
    // of an edge but its last, which alone is written). One statement: the first endpoint (in request order, from before to) that names no
    // node, and only when there is none, the upsert. The foreign keys are the guard against a
    // node deleted concurrently, after this statement's snapshot (SQLSTATE 23503; the caller
    // runs the statement again, which then reports that node).
    upsertEdges: statement(
      "prism_graph_upsert_edges",
      `WITH batch AS (
         SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[]) WITH ORDINALITY
           AS e(from_id, to_id, label, properties, n)
       ),
       missing AS (
         SELECT ends.id FROM batch CROSS JOIN LATERAL (VALUES (0, batch.from_id), (1, batch.to_id)) AS ends(side, id)
         WHERE NOT EXISTS (SELECT 1 FROM ${nodes} WHERE namespace = $1::text AND id = ends.id ${C})
         ORDER BY batch.n, ends.side LIMIT 1
       ),
       written AS (
         INSERT INTO ${edges} AS stored (namespace, from_id, to_id, label, properties)
         SELECT $1::text, from_id, to_id, label, properties FROM batch
         WHERE properties IS NOT NULL AND NOT EXISTS (SELECT 1 FROM missing)
         ORDER BY from_id ${C}, to_id ${C}, label ${C}
         ON CONFLICT (namespace, from_id, to_id, label) DO UPDATE SET properties = EXCLUDED.properties
         RETURNING 1
       )
       SELECT (SELECT id FROM missing) AS missing, (SELECT count(*)::int FROM written) AS written`,
    ),

    // $1 namespace, $2 ids (unique). The nodes found, in request order.
    getNodes: statement(
      "prism_graph_get_nodes",
      `SELECT wanted.id, found.label, found.properties
       FROM unnest($2::text[]) WITH ORDINALITY AS wanted(id, n)
       CROSS JOIN LATERAL ${nodeOf("$1::text", `wanted.id ${C}`)} AS found
       ORDER BY wanted.n`,
    ),

    // $1 namespace, $2 ids. Incident edges go with them (ON DELETE CASCADE, by both indexes).
    deleteNodes: statement(
      "prism_graph_delete_nodes",
      `DELETE FROM ${nodes} WHERE namespace = $1::text AND id = ANY($2::text[])`,
    ),

    // $1 namespace, $2 from ids, $3 to ids, $4 labels. A repeated edge is deleted (and counted) once.
    deleteEdges: statement(
      "prism_graph_delete_edges",
      `DELETE FROM ${edges} AS stored
       USING unnest($2::text[], $3::text[], $4::text[]) AS doomed(from_id, to_id, label)
       WHERE stored.namespace = $1::text AND stored.from_id = doomed.from_id ${C}
         AND stored.to_id = doomed.to_id ${C} AND stored.label = doomed.label ${C}`,
    ),

    // $1 namespace, $2 from ids, $3 to ids, $4 labels (each edge once). The edges found, in request order.
    getEdges: statement(
      "prism_graph_get_edges",
      `SELECT found.from_id, found.to_id, found.label, found.properties
       FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS wanted(from_id, to_id, label, n)
       CROSS JOIN LATERAL (SELECT from_id, to_id, label, properties FROM ${edges}
         WHERE namespace = $1::text AND from_id = wanted.from_id ${C} AND to_id = wanted.to_id ${C}
           AND label = wanted.label ${C} LIMIT 1) AS found
       ORDER BY wanted.n`,
    ),

    // Whole-namespace scans in primary key order from a keyset cursor: the key of the last row
    // returned ('' before every id and label), an index range scan that stops after the page.
    // $1 namespace, $2 after id, $3 limit; one row more than the limit says that more follow.
    scanNodes: statement(
      "prism_graph_scan_nodes",
      `SELECT id, label, properties FROM ${nodes}
       WHERE namespace = $1::text AND id > $2::text ${C}
       ORDER BY id LIMIT $3::int + 1`,
    ),
    // $1 namespace, $2 after from id, $3 after to id, $4 after label, $5 limit.
    scanEdges: statement(
      "prism_graph_scan_edges",
      `SELECT from_id, to_id, label, properties FROM ${edges}
       WHERE namespace = $1::text AND (from_id, to_id, label) > ($2::text ${C}, $3::text ${C}, $4::text ${C})
       ORDER BY from_id, to_id, label LIMIT $5::int + 1`,
    ),

    neighbors: perDirection(neighbors),
    traverse: perDirection(traverse),
    shortestPath: perDirection(shortestPath),
  });
}

function statement(name: string, text: string): Statement {
  return Object.freeze({ name, text: text.replace(/\s+/g, " ").trim() });
}
