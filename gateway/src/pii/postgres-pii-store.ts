import { PrismError } from "@prism/core";
import type { Pool, QueryResultRow } from "pg";
import { inTransaction, openPostgresPool, resolvePostgresUrl } from "../config/postgres-connection.js";
import {
  type AuditEntry,
  type AuditFilter,
  type AuditHead,
  type AuditRow,
  type AuditStore,
  fromAuditRow,
  GENESIS,
  whereOf,
} from "./audit-store.js";
import { fromKeyRow, type KeyRow, type KeyStore, type StoredDataKey } from "./key-store.js";

/** Where the tables live: the config store's url and schema. */
export interface PostgresPiiSettings {
  /** `postgres://…`, `env:NAME` or `file:/path`. Never logged. */
  readonly url: string;
  readonly schema: string;
}

/** Advisory lock key (first half) for creating the tables: "ppii". */
const LOCK_NAMESPACE = 0x70706969;
const KEY_COLUMNS = "key_id, generation, kek_id, wrapped, created_at";

/**
 * The key store and the audit log in the config store's PostgreSQL schema (own tables, one small
 * pool). Every query is parameterised; only the validated schema name is spliced, quoted.
 *
 * @example const { keys, audit, close } = await openPostgresPiiStores({ url: "env:PRISM_CONFIG_PG", schema: "prism" })
 */
export async function openPostgresPiiStores(
  settings: PostgresPiiSettings,
  connectTimeoutMs = 5000,
): Promise<{ keys: PostgresKeyStore; audit: PostgresAuditStore; close(): Promise<void> }> {
  const url = await resolvePostgresUrl(settings.url);
  const pool = openPostgresPool(url, "prism:pii-store", connectTimeoutMs);
  const s = `"${settings.schema}"`;
  try {
    await inTransaction(
      pool,
      async (client) => {
        await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [
          LOCK_NAMESPACE,
          settings.schema,
        ]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${s}.pii_data_keys (
          namespace text NOT NULL, key_id text NOT NULL, generation integer NOT NULL, kek_id text NOT NULL,
          wrapped bytea NOT NULL, created_at bigint NOT NULL,
          PRIMARY KEY (namespace, key_id), UNIQUE (namespace, generation))`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${s}.pii_audit (
          seq bigint PRIMARY KEY, time bigint NOT NULL, principal text NOT NULL, namespace text NOT NULL,
          record_id text NOT NULL, fields text NOT NULL, operation text NOT NULL, hash text NOT NULL)`);
        await client.query(
          `CREATE INDEX IF NOT EXISTS pii_audit_namespace ON ${s}.pii_audit (namespace, seq)`,
        );
        await client.query(
          `CREATE INDEX IF NOT EXISTS pii_audit_principal ON ${s}.pii_audit (principal, seq)`,
        );
        await client.query(`CREATE TABLE IF NOT EXISTS ${s}.pii_audit_head (
          one boolean PRIMARY KEY DEFAULT true CHECK (one), seq bigint NOT NULL, hash text NOT NULL)`);
        await client.query(
          `INSERT INTO ${s}.pii_audit_head (one, seq, hash) VALUES (true, 0, $1) ON CONFLICT DO NOTHING`,
          [GENESIS.hash],
        );
      },
      unavailable,
    );
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    keys: new PostgresKeyStore(pool, s),
    audit: new PostgresAuditStore(pool, s),
    close: () => {
      closing ??= pool.end().catch(() => undefined);
      return closing;
    },
  };
}

/** {@link KeyStore} on PostgreSQL: the unique (namespace, generation) decides racing inserts. */
export class PostgresKeyStore implements KeyStore {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {}

  async current(namespace: string): Promise<StoredDataKey | undefined> {
    const { rows } = await query<KeyRow>(
      this.pool,
      `SELECT ${KEY_COLUMNS} FROM ${this.schema}.pii_data_keys WHERE namespace = $1 ORDER BY generation DESC LIMIT 1`,
      [namespace],
    );
    return rows[0] && fromKeyRow(rows[0]);
  }

  async byId(namespace: string, id: string): Promise<StoredDataKey | undefined> {
    const { rows } = await query<KeyRow>(
      this.pool,
      `SELECT ${KEY_COLUMNS} FROM ${this.schema}.pii_data_keys WHERE namespace = $1 AND key_id = $2`,
      [namespace, id],
    );
    return rows[0] && fromKeyRow(rows[0]);
  }

  async list(namespace: string): Promise<StoredDataKey[]> {
    const { rows } = await query<KeyRow>(
      this.pool,
      `SELECT ${KEY_COLUMNS} FROM ${this.schema}.pii_data_keys WHERE namespace = $1 ORDER BY generation DESC`,
      [namespace],
    );
    return rows.map(fromKeyRow);
  }

  async insert(namespace: string, key: StoredDataKey): Promise<boolean> {
    const { rowCount } = await query(
      this.pool,
      `INSERT INTO ${this.schema}.pii_data_keys (namespace, ${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT DO NOTHING`,
      [namespace, key.id, key.generation, key.kekId, Buffer.from(key.wrapped), key.createdAt],
    );
    return (rowCount ?? 0) > 0;
  }
}

/**
 * {@link AuditStore} on PostgreSQL: an append locks the head row (`FOR UPDATE`), so appenders in
 * any number of gateways take turns extending one chain; seq is the primary key besides.
 */
export class PostgresAuditStore implements AuditStore {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {}

  append(build: (head: AuditHead) => AuditEntry[]): Promise<void> {
    return inTransaction(
      this.pool,
      async (client) => {
        const { rows } = await client.query<AuditRow>(
          `SELECT seq, hash FROM ${this.schema}.pii_audit_head WHERE one FOR UPDATE`,
        );
        const entries = build({ seq: Number(rows[0]!.seq), hash: rows[0]!.hash });
        const last = entries.at(-1);
        if (!last) return;
        await client.query(
          `INSERT INTO ${this.schema}.pii_audit (seq, time, principal, namespace, record_id, fields, operation, hash)
            SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
          [
            entries.map((e) => e.seq),
            entries.map((e) => e.time),
            entries.map((e) => e.principal),
            entries.map((e) => e.namespace),
            entries.map((e) => e.id),
            entries.map((e) => JSON.stringify(e.fields)),
            entries.map((e) => e.operation),
            entries.map((e) => e.hash),
          ],
        );
        await client.query(`UPDATE ${this.schema}.pii_audit_head SET seq = $1, hash = $2 WHERE one`, [
          last.seq,
          last.hash,
        ]);
      },
      unavailable,
    );
  }

  async query(filter: AuditFilter, afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const { where, values } = whereOf(filter, afterSeq, (n) => `$${n}`);
    const { rows } = await query<AuditRow>(
      this.pool,
      `SELECT * FROM ${this.schema}.pii_audit WHERE ${where} ORDER BY seq LIMIT $${values.length + 1}`,
      [...values, limit],
    );
    return rows.map(fromAuditRow);
  }

  async head(): Promise<AuditHead> {
    const { rows } = await query<AuditRow>(
      this.pool,
      `SELECT seq, hash FROM ${this.schema}.pii_audit_head WHERE one`,
    );
    return { seq: Number(rows[0]!.seq), hash: rows[0]!.hash };
  }
}

async function query<R extends QueryResultRow>(pool: Pool, text: string, values: unknown[] = []) {
  try {
    return await pool.query<R>(text, values);
  } catch (error) {
    throw unavailable(error);
  }
}

/** Driver text (which may name hosts or SQL) stays in `cause`. */
function unavailable(cause: unknown): PrismError {
  return new PrismError("Unavailable", "the key store and audit log (PostgreSQL) are not reachable", {
    cause,
    reason: "PII_STORE_UNAVAILABLE",
  });
}
