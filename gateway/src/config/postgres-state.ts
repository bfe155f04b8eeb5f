import type { PoolClient, QueryResult, QueryResultRow } from "pg";
import type { StoredState } from "./config-store.js";
import { checkStateAddress, checkStateListing, checkStatePut, stateConflict } from "./state-rules.js";

/** Runs one parameterised statement on the pool, mapping driver failures to Unavailable. */
export type PostgresQuery = <R extends QueryResultRow>(
  text: string,
  values?: unknown[],
) => Promise<QueryResult<R>>;

/**
 * Creates the shared-state table; runs in the store's schema-setup transaction. `key` sorts
 * byte-wise (COLLATE "C") so `listState` orders keys as SQLite does, whatever the database's
 * locale. `value` is `json`, not `jsonb`: kept as written, and a string holding U+0000 (which
 * jsonb refuses) stays storable.
 *
 * @example await createStateTable(client, "prism")
 */
export async function createStateTable(client: PoolClient, schema: string): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS "${schema}".config_state (
    kind text NOT NULL, key text COLLATE "C" NOT NULL, value json NOT NULL, version integer NOT NULL,
    updated_at bigint NOT NULL, PRIMARY KEY (kind, key))`);
}

/**
 * The `ConfigStore` state methods for PostgreSQL. Every write is one statement, so it is atomic
 * however many gateways race: a first claim (`expectVersion` 0) is `INSERT … ON CONFLICT DO
 * NOTHING` (a concurrent inserter waits for the winner's commit, then inserts nothing), a later one
 * is `UPDATE … WHERE version = $n` (a waiting updater re-checks the version of the row the winner
 * left, and matches nothing). No generation bump, no NOTIFY: state is not config.
 *
 * @example const state = new PostgresState("prism", (text, values) => pool.query(text, values))
 */
export class PostgresState {
  private readonly sql;

  constructor(
    schema: string,
    private readonly query: PostgresQuery,
  ) {
    const table = `"${schema}".config_state`;
    const columns = "kind, key, value, version, updated_at";
    this.sql = {
      get: `SELECT ${columns} FROM ${table} WHERE kind = $1 AND key = $2`,
      // starts_with: no LIKE, so `%` and `_` in a prefix are only themselves.
      list: `SELECT ${columns} FROM ${table} WHERE kind = $1 AND starts_with(key, $2) ORDER BY key`,
      upsert: `INSERT INTO ${table} AS s (${columns}) VALUES ($1, $2, $3::json, 1, $4)
        ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, version = s.version + 1,
        updated_at = excluded.updated_at RETURNING version`,
      insert: `INSERT INTO ${table} (${columns}) VALUES ($1, $2, $3::json, 1, $4)
        ON CONFLICT (kind, key) DO NOTHING RETURNING version`,
      replace: `UPDATE ${table} SET value = $3::json, version = version + 1, updated_at = $4
        WHERE kind = $1 AND key = $2 AND version = $5 RETURNING version`,
      delete: `DELETE FROM ${table} WHERE kind = $1 AND key = $2`,
    };
  }

  async put(kind: string, key: string, value: unknown, expectVersion?: number): Promise<StoredState> {
    const json = checkStatePut(kind, key, value, expectVersion);
    const updatedAt = Date.now();
    const { rows } =
      expectVersion === undefined
        ? await this.query<{ version: number }>(this.sql.upsert, [kind, key, json, updatedAt])
        : expectVersion === 0
          ? await this.query<{ version: number }>(this.sql.insert, [kind, key, json, updatedAt])
          : await this.query<{ version: number }>(this.sql.replace, [
              kind,
              key,
              json,
              updatedAt,
              expectVersion,
            ]);
    if (!rows[0]) throw stateConflict(kind, key);
    return { kind, key, value: JSON.parse(json), version: rows[0].version, updatedAt };
  }

  async get(kind: string, key: string): Promise<StoredState | undefined> {
    checkStateAddress(kind, key);
    const { rows } = await this.query<StateRow>(this.sql.get, [kind, key]);
    return rows[0] && fromStateRow(rows[0]);
  }

  async list(kind: string, keyPrefix = ""): Promise<StoredState[]> {
    checkStateListing(kind, keyPrefix);
    const { rows } = await this.query<StateRow>(this.sql.list, [kind, keyPrefix]);
    return rows.map(fromStateRow);
  }

  async delete(kind: string, key: string): Promise<boolean> {
    checkStateAddress(kind, key);
    const { rowCount } = await this.query(this.sql.delete, [kind, key]);
    return (rowCount ?? 0) > 0;
  }
}

interface StateRow {
  kind: string;
  key: string;
  /** pg parses `json` columns itself. */
  value: unknown;
  version: number;
  updated_at: string;
}

function fromStateRow(row: StateRow): StoredState {
  return {
    kind: row.kind,
    key: row.key,
    value: row.value,
    version: row.version,
    updatedAt: Number(row.updated_at),
  };
}
