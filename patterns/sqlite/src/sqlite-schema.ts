/**
 * The SQLite layout. Keys are BLOBs (SQLite compares them with memcmp: unsigned byte order) and
 * ids TEXT with the default BINARY collation (UTF-8 byte order), matching the other backends.
 * WITHOUT ROWID keeps each record's items clustered by (namespace, id, key).
 */
export const SCHEMA_VERSION = 3;

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS kv_items (
     namespace  TEXT    NOT NULL,
     id         TEXT    NOT NULL,
     key        BLOB    NOT NULL,
     value      BLOB    NOT NULL,
     expires_at INTEGER,
     chunked    INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (namespace, id, key)
   ) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS kv_items_expiry ON kv_items (expires_at) WHERE expires_at IS NOT NULL`,
  `CREATE TABLE IF NOT EXISTS kv_idempotency (
     namespace TEXT    NOT NULL,
     key       TEXT    NOT NULL,
     forget_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, key)
   ) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS kv_idempotency_forget ON kv_idempotency (forget_at)`,
  // Version 2: TimeSeries. Times are epoch microseconds in 64-bit integers; `seq` numbers a
  // series' events in arrival (commit) order, drawn from `ts_series.last_seq` inside the write
  // transaction, so a tail can follow arrivals and never sees a number reused after retention.
  `CREATE TABLE IF NOT EXISTS ts_events (
     namespace  TEXT    NOT NULL,
     series_id  TEXT    NOT NULL,
     event_time INTEGER NOT NULL,
     event_id   TEXT    NOT NULL,
     payload    BLOB    NOT NULL,
     tags       TEXT    NOT NULL,
     seq        INTEGER NOT NULL,
     PRIMARY KEY (namespace, series_id, event_time, event_id)
   ) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS ts_events_arrival ON ts_events (namespace, series_id, seq)`,
  `CREATE INDEX IF NOT EXISTS ts_events_retention ON ts_events (namespace, event_time)`,
  `CREATE TABLE IF NOT EXISTS ts_series (
     namespace TEXT    NOT NULL,
     series_id TEXT    NOT NULL,
     last_seq  INTEGER NOT NULL,
     PRIMARY KEY (namespace, series_id)
   ) WITHOUT ROWID`,
  // Version 3: Graph. Properties are JSON objects of type-tagged values (sqlite-graph-properties.ts).
  // An edge is keyed from its source (out-neighbors by label) and indexed from its target, so
  // both directions of a hop are index seeks.
  `CREATE TABLE IF NOT EXISTS graph_nodes (
     namespace  TEXT NOT NULL,
     id         TEXT NOT NULL,
     label      TEXT NOT NULL,
     properties TEXT NOT NULL,
     PRIMARY KEY (namespace, id)
   ) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS graph_edges (
     namespace  TEXT NOT NULL,
     from_id    TEXT NOT NULL,
     to_id      TEXT NOT NULL,
     label      TEXT NOT NULL,
     properties TEXT NOT NULL,
     PRIMARY KEY (namespace, from_id, label, to_id)
   ) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS graph_edges_in ON graph_edges (namespace, to_id, label, from_id)`,
];

/** The columns every item read returns. */
export interface ItemRow {
  key: Uint8Array;
  value: Uint8Array;
  expires_at: number | null;
  chunked: number;
}

export interface ScanItemRow extends ItemRow {
  id: string;
}

const LIVE = "(expires_at IS NULL OR expires_at > @now)";

/** Every statement, prepared once per database. */
export const SQL = {
  upsert: `INSERT INTO kv_items (namespace, id, key, value, expires_at, chunked)
           VALUES (@namespace, @id, @key, @value, @expiresAt, @chunked)
           ON CONFLICT (namespace, id, key) DO UPDATE
           SET value = excluded.value, expires_at = excluded.expires_at, chunked = excluded.chunked`,
  // Range reads start at a lower bound that is inclusive (the range start) or exclusive (the
  // previous page's last key), so every page seeks straight to its first row.
  getGte: `SELECT key, value, expires_at, chunked FROM kv_items
           WHERE namespace = @namespace AND id = @id AND key >= @lower AND ${LIVE} ORDER BY key`,
  getGt: `SELECT key, value, expires_at, chunked FROM kv_items
          WHERE namespace = @namespace AND id = @id AND key > @lower AND ${LIVE} ORDER BY key`,
  getGteBounded: `SELECT key, value, expires_at, chunked FROM kv_items
                  WHERE namespace = @namespace AND id = @id AND key >= @lower AND key < @end AND ${LIVE}
                  ORDER BY key`,
  getGtBounded: `SELECT key, value, expires_at, chunked FROM kv_items
                 WHERE namespace = @namespace AND id = @id AND key > @lower AND key < @end AND ${LIVE}
                 ORDER BY key`,
  getKey: `SELECT key, value, expires_at, chunked FROM kv_items
           WHERE namespace = @namespace AND id = @id AND key = @key AND ${LIVE}`,
  deleteRecord: "DELETE FROM kv_items WHERE namespace = @namespace AND id = @id",
  deleteKey: "DELETE FROM kv_items WHERE namespace = @namespace AND id = @id AND key = @key",
  deleteRange: "DELETE FROM kv_items WHERE namespace = @namespace AND id = @id AND key >= @start",
  deleteRangeBounded: `DELETE FROM kv_items
                       WHERE namespace = @namespace AND id = @id AND key >= @start AND key < @end`,
  scanFrom: `SELECT id, key, value, expires_at, chunked FROM kv_items
             WHERE namespace = @namespace AND (id > @afterId OR (id = @afterId AND key > @afterKey)) AND ${LIVE}
             ORDER BY id, key`,
  scanAll: `SELECT id, key, value, expires_at, chunked FROM kv_items
            WHERE namespace = @namespace AND ${LIVE} ORDER BY id, key`,
  remember: `INSERT INTO kv_idempotency (namespace, key, forget_at) VALUES (@namespace, @key, @forgetAt)
             ON CONFLICT DO NOTHING`,
  sweepItems: `DELETE FROM kv_items WHERE (namespace, id, key) IN (
                 SELECT namespace, id, key FROM kv_items WHERE expires_at <= @now LIMIT @batch)`,
  sweepKeys: `DELETE FROM kv_idempotency WHERE (namespace, key) IN (
                SELECT namespace, key FROM kv_idempotency WHERE forget_at <= @now LIMIT @batch)`,
} as const;
