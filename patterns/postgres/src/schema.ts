import { PrismError } from "@prism/core";
import type { SqlClient } from "./postgres-pool.js";

/**
 * Schema migrations, in order; version N is `MIGRATIONS[N - 1]`. Append only: a released
 * migration is never edited, because gateways already ran it.
 */
const MIGRATIONS: readonly ((schema: string) => string[])[] = [
  (schema) => [
    // COLLATE "C" on text: ids compare by UTF-8 bytes, the order `compareIds` defines, whatever
    // the database's default collation. bytea keys compare as unsigned bytes natively.
    `CREATE TABLE IF NOT EXISTS "${schema}".kv_items (
       namespace  text COLLATE "C" NOT NULL,
       id         text COLLATE "C" NOT NULL,
       key        bytea NOT NULL,
       value      bytea NOT NULL,
       expires_at timestamptz NULL,
       chunked    boolean NOT NULL DEFAULT false,
       PRIMARY KEY (namespace, id, key))`,
    // Partial: most items never expire, and the sweeper only looks for those that do.
    `CREATE INDEX IF NOT EXISTS kv_items_expires_at ON "${schema}".kv_items (expires_at)
       WHERE expires_at IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS "${schema}".kv_idempotency (
       namespace text COLLATE "C" NOT NULL,
       key       text COLLATE "C" NOT NULL,
       forget_at timestamptz NOT NULL,
       PRIMARY KEY (namespace, key))`,
    `CREATE INDEX IF NOT EXISTS kv_idempotency_forget_at ON "${schema}".kv_idempotency (forget_at)`,
  ],
  // TimeSeries (ADR-0011). Partitions of ts_events are created on demand, one per namespace and
  // UTC day (`ts-partitions.ts`); this creates only the partitioned parent and its indexes.
  (schema) => [
    // A small number per namespace: partition bounds and names carry it, never namespace text.
    `CREATE TABLE IF NOT EXISTS "${schema}".ts_namespaces (
       namespace text COLLATE "C" PRIMARY KEY,
       id        integer GENERATED ALWAYS AS IDENTITY UNIQUE)`,
    // Arrival order for tails. CACHE 1 (the default, spelled out): a per-session cache would hand
    // out numbers out of commit order, and the tail's hand-over relies on that order per series.
    `CREATE SEQUENCE IF NOT EXISTS "${schema}".ts_arrival AS bigint CACHE 1`,
    // COLLATE "C": event ids compare by UTF-8 bytes, the order `compareEvents` defines. `size` is
    // the event's `eventBytes`, computed at write, so pages are cut to their byte bound in SQL.
    `CREATE TABLE IF NOT EXISTS "${schema}".ts_events (
       ns_id         integer NOT NULL,
       series_id     text COLLATE "C" NOT NULL,
       event_time_us bigint NOT NULL,
       event_id      text COLLATE "C" NOT NULL,
       seq           bigint NOT NULL,
       size          integer NOT NULL,
       payload       bytea NOT NULL,
       tags          jsonb NOT NULL,
       PRIMARY KEY (ns_id, series_id, event_time_us, event_id))
     PARTITION BY RANGE (ns_id, event_time_us)`,
    // Tails: a series' events in arrival order, and its latest arrival.
    `CREATE INDEX IF NOT EXISTS ts_events_arrival ON "${schema}".ts_events (ns_id, series_id, seq)`,
    // Retention's batched delete in the one partition that straddles the cut-off. Events arrive
    // roughly in time order, so a BRIN index stays tiny and costs writes almost nothing.
    `CREATE INDEX IF NOT EXISTS ts_events_time ON "${schema}".ts_events USING brin (event_time_us)`,
  ],
  // Graph (ADR-0014). COLLATE "C": ids and labels compare as UTF-8 bytes, the Neighbors order.
  (schema) => [
    `CREATE TABLE IF NOT EXISTS "${schema}".graph_nodes (
       namespace  text COLLATE "C" NOT NULL,
       id         text COLLATE "C" NOT NULL,
       label      text COLLATE "C" NOT NULL,
       properties jsonb NOT NULL,
       PRIMARY KEY (namespace, id))`,
    // The primary key is the out-index (a node's out-edges in (to, label) order); graph_edges_in
    // below the in-index. Both serve Neighbors' ranges, traversals (index-only) and the cascades.
    // The foreign keys refuse an edge whose node is gone, also one deleted concurrently, and
    // delete a node's edges with it.
    `CREATE TABLE IF NOT EXISTS "${schema}".graph_edges (
       namespace  text COLLATE "C" NOT NULL,
       from_id    text COLLATE "C" NOT NULL,
       to_id      text COLLATE "C" NOT NULL,
       label      text COLLATE "C" NOT NULL,
       properties jsonb NOT NULL,
       PRIMARY KEY (namespace, from_id, to_id, label),
       FOREIGN KEY (namespace, from_id) REFERENCES "${schema}".graph_nodes ON DELETE CASCADE,
       FOREIGN KEY (namespace, to_id) REFERENCES "${schema}".graph_nodes ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS graph_edges_in ON "${schema}".graph_edges (namespace, to_id, from_id, label)`,
  ],
];

/** The schema version this build writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Advisory lock key (first half): "prsm". The second half is the schema name's hash, so gateways
 * migrating different schemas of one database do not wait for each other.
 */
const LOCK_NAMESPACE = 0x7072736d;

/**
 * Creates or migrates `schema` to {@link SCHEMA_VERSION}. Safe to run from several gateways at
 * once: the first takes a transaction-scoped advisory lock and migrates, the others wait for it and
 * then find nothing to do (`CREATE SCHEMA IF NOT EXISTS` alone races on the catalog's unique index).
 *
 * @example await migrate(client, "prism")
 */
export async function migrate(client: SqlClient, schema: string): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query({
      text: "SELECT pg_advisory_xact_lock($1, hashtext($2))",
      values: [LOCK_NAMESPACE, schema],
    });
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS "${schema}".schema_version (
         version    integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM "${schema}".schema_version`,
    );
    const current = rows[0]?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new PrismError(
        "FailedPrecondition",
        `schema ${schema} is at version ${current}, newer than this gateway supports (${SCHEMA_VERSION}); upgrade the gateway`,
        { reason: "SCHEMA_TOO_NEW" },
      );
    }
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      for (const ddl of MIGRATIONS[version - 1]!(schema)) await client.query(ddl);
      await client.query({
        text: `INSERT INTO "${schema}".schema_version (version) VALUES ($1)`,
        values: [version],
      });
    }
    await client.query("COMMIT");
  } catch (error) {
    // A failed ROLLBACK means the connection is gone; the caller destroys it either way.
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
