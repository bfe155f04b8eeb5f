import { PrismError } from "@prism/core";
import { Client, type Pool, type PoolClient, type QueryResultRow } from "pg";
import {
  asBuffer,
  type ConfigStore,
  type NewSchemaFile,
  type StoredNamespace,
  type StoredSchemaFile,
  type StoredState,
  type StoreLogger,
  schemaVersionConflict,
} from "./config-store.js";
import type { NamespaceSpec } from "./namespace-spec.js";
import { inTransaction, openPostgresPool, resolvePostgresUrl } from "./postgres-connection.js";
import { createStateTable, PostgresState } from "./postgres-state.js";

/** What the store needs from the gateway config (`configStore` with `type: postgres`). */
export interface PostgresConfigStoreSettings {
  /** `postgres://…`, or `env:NAME` / `file:/path` holding it. Never logged. */
  readonly url: string;
  /** Schema holding the store's tables; created if missing. */
  readonly schema: string;
}

/** Tuning the tests shorten; production uses the defaults. */
export interface PostgresConfigStoreTuning {
  /** First wait before reconnecting the listener; doubles per failure up to `reconnectMaxMs`. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  connectTimeoutMs?: number;
}

/** Advisory lock key (first half) for creating the schema: "pcfg". */
const LOCK_NAMESPACE = 0x70636667;

/** Application names, so operators (and tests) can tell the listener from the pool. */
export const LISTENER_APPLICATION_NAME = "prism:config-listener";
const POOL_APPLICATION_NAME = "prism:config-store";

/**
 * Applied namespaces in PostgreSQL, for any number of gateways on any number of hosts. A change,
 * its generation bump and its `NOTIFY` commit in one transaction, so a listener never hears of a
 * change it cannot read. Each store keeps one dedicated connection that `LISTEN`s on the schema's
 * channel; when the server drops it the store reconnects with backoff and then notifies its
 * watchers unconditionally, because a change committed while it was away sent its NOTIFY to no one.
 * Queries go through a small pool and are all parameterised; only the schema name (validated as
 * an identifier) is spliced into SQL, quoted. Shared state (`postgres-state.ts`) lives in the same
 * schema but bumps nothing and notifies no one.
 *
 * @example const store = await PostgresConfigStore.open({ url: "env:PRISM_CONFIG_PG", schema: "prism" }, logger)
 */
export class PostgresConfigStore implements ConfigStore {
  /** The NOTIFY channel of this store's schema. */
  readonly channel: string;
  private readonly listeners = new Set<() => void>();
  private listener: Client | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly sql;
  private readonly state: PostgresState;

  private constructor(
    private readonly url: string,
    readonly schema: string,
    private readonly pool: Pool,
    private readonly logger: StoreLogger,
    private readonly tuning: Required<PostgresConfigStoreTuning>,
  ) {
    this.channel = `prism_config_${schema}`;
    this.state = new PostgresState(schema, (text, values) => this.query(text, values));
    const ns = `"${schema}".config_namespaces`;
    this.sql = {
      list: `SELECT spec, version, updated_at FROM ${ns} ORDER BY name`,
      get: `SELECT spec, version, updated_at FROM ${ns} WHERE name = $1`,
      upsert: `INSERT INTO ${ns} AS n (name, spec, version, updated_at) VALUES ($1, $2::jsonb, 1, $3)
        ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, version = n.version + 1, updated_at = excluded.updated_at
        RETURNING version`,
      delete: `DELETE FROM ${ns} WHERE name = $1`,
      generation: `SELECT generation FROM "${schema}".config_generation`,
      bump: `UPDATE "${schema}".config_generation SET generation = generation + 1 RETURNING generation`,
      notify: "SELECT pg_notify($1, $2)",
      schemaFiles: `SELECT DISTINCT ON (name) name, version, descriptor, registered_at
        FROM "${schema}".config_schema_files ORDER BY name, version DESC`,
      schemaVersion: `SELECT COALESCE(MAX(version), 0) AS version FROM "${schema}".config_schema_files WHERE name = $1`,
      addSchemaFile: `INSERT INTO "${schema}".config_schema_files (name, version, descriptor, registered_at)
        VALUES ($1, $2, $3, $4)`,
    };
  }

  /**
   * Resolves the url, creates the schema if missing and starts listening. Fails (Unavailable) when
   * the server cannot be reached, so a gateway never starts without its namespaces.
   */
  static async open(
    settings: PostgresConfigStoreSettings,
    logger: StoreLogger,
    tuning: PostgresConfigStoreTuning = {},
  ): Promise<PostgresConfigStore> {
    const url = await resolvePostgresUrl(settings.url);
    const full: Required<PostgresConfigStoreTuning> = {
      reconnectMinMs: 250,
      reconnectMaxMs: 5000,
      connectTimeoutMs: 5000,
      ...tuning,
    };
    const pool = openPostgresPool(url, POOL_APPLICATION_NAME, full.connectTimeoutMs);
    const store = new PostgresConfigStore(url, settings.schema, pool, logger, full);
    try {
      await store.transaction(async (client) => {
        await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [
          LOCK_NAMESPACE,
          settings.schema,
        ]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${settings.schema}"`);
        await client.query(`CREATE TABLE IF NOT EXISTS "${settings.schema}".config_namespaces (
          name text PRIMARY KEY, spec jsonb NOT NULL, version integer NOT NULL, updated_at bigint NOT NULL)`);
        await client.query(`CREATE TABLE IF NOT EXISTS "${settings.schema}".config_schema_files (
          name text NOT NULL, version integer NOT NULL, descriptor bytea NOT NULL, registered_at bigint NOT NULL,
          PRIMARY KEY (name, version))`);
        await client.query(`CREATE TABLE IF NOT EXISTS "${settings.schema}".config_generation (
          one boolean PRIMARY KEY DEFAULT true CHECK (one), generation bigint NOT NULL)`);
        await client.query(
          `INSERT INTO "${settings.schema}".config_generation (one, generation) VALUES (true, 0) ON CONFLICT DO NOTHING`,
        );
        await createStateTable(client, settings.schema);
      });
      store.listener = await store.connectListener();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return store;
  }

  async list(): Promise<StoredNamespace[]> {
    const { rows } = await this.query<Row>(this.sql.list);
    return rows.map(fromRow);
  }

  async get(name: string): Promise<StoredNamespace | undefined> {
    const { rows } = await this.query<Row>(this.sql.get, [name]);
    return rows[0] && fromRow(rows[0]);
  }

  async put(spec: NamespaceSpec): Promise<StoredNamespace> {
    const updatedAt = Date.now();
    const version = await this.transaction(async (client) => {
      const { rows } = await client.query<{ version: number }>(this.sql.upsert, [
        spec.name,
        JSON.stringify(spec),
        updatedAt,
      ]);
      await this.bumpAndNotify(client);
      return rows[0]!.version;
    });
    return { spec, version, updatedAt };
  }

  async delete(name: string): Promise<boolean> {
    return this.transaction(async (client) => {
      const { rowCount } = await client.query(this.sql.delete, [name]);
      if (!rowCount) return false;
      await this.bumpAndNotify(client);
      return true;
    });
  }

  async schemaFiles(): Promise<StoredSchemaFile[]> {
    const { rows } = await this.query<SchemaRow>(this.sql.schemaFiles);
    return rows.map((row) => ({
      name: row.name,
      version: row.version,
      registeredAt: Number(row.registered_at),
      descriptor: new Uint8Array(row.descriptor),
    }));
  }

  async addSchemaFiles(files: readonly NewSchemaFile[]): Promise<number> {
    const registeredAt = Date.now();
    await this.transaction(async (client) => {
      for (const file of files) {
        const { rows } = await client.query<{ version: number }>(this.sql.schemaVersion, [file.name]);
        if (rows[0]!.version !== file.version - 1) throw schemaVersionConflict(file.name);
        try {
          await client.query(this.sql.addSchemaFile, [
            file.name,
            file.version,
            asBuffer(file.descriptor),
            registeredAt,
          ]);
        } catch (error) {
          // Another transaction inserted the same version since our check: it won.
          if ((error as { code?: string }).code === "23505") throw schemaVersionConflict(file.name);
          throw error;
        }
      }
      await this.bumpAndNotify(client);
    });
    return registeredAt;
  }

  putState(kind: string, key: string, value: unknown, expectVersion?: number): Promise<StoredState> {
    return this.state.put(kind, key, value, expectVersion);
  }

  getState(kind: string, key: string): Promise<StoredState | undefined> {
    return this.state.get(kind, key);
  }

  listState(kind: string, keyPrefix?: string): Promise<StoredState[]> {
    return this.state.list(kind, keyPrefix);
  }

  deleteState(kind: string, key: string): Promise<boolean> {
    return this.state.delete(kind, key);
  }

  async generation(): Promise<number> {
    const { rows } = await this.query<{ generation: string }>(this.sql.generation);
    return Number(rows[0]?.generation ?? 0);
  }

  watch(onChange: () => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.listeners.clear();
      clearTimeout(this.reconnectTimer);
      const listener = this.listener;
      this.listener = undefined;
      await listener?.end().catch(() => undefined);
      await this.pool.end().catch(() => undefined);
    })();
    return this.closing;
  }

  /** Bumps the generation and queues the NOTIFY; both take effect when the caller's transaction commits. */
  private async bumpAndNotify(client: PoolClient): Promise<void> {
    const { rows } = await client.query<{ generation: string }>(this.sql.bump);
    await client.query(this.sql.notify, [this.channel, rows[0]!.generation]);
  }

  /** A connection that LISTENs on the channel; rejects (and closes it) when that fails. */
  private async connectListener(): Promise<Client> {
    const client = new Client({
      connectionString: this.url,
      connectionTimeoutMillis: this.tuning.connectTimeoutMs,
      application_name: LISTENER_APPLICATION_NAME,
      keepAlive: true,
    });
    client.on("notification", (message) => {
      if (message.channel === this.channel) this.notify();
    });
    client.on("error", (error) => this.listenerLost(client, error));
    client.on("end", () => this.listenerLost(client));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw unavailable(error);
    }
    return client;
  }

  /** The listening connection died (server restart, pg_terminate_backend, network): reconnect. */
  private listenerLost(client: Client, error?: Error): void {
    if (this.closing || this.listener !== client) return;
    this.listener = undefined;
    client.end().catch(() => undefined);
    this.logger.warn(
      { schema: this.schema, code: (error as { code?: string } | undefined)?.code },
      "config store listener lost; reconnecting",
    );
    this.scheduleReconnect(this.tuning.reconnectMinMs);
  }

  private scheduleReconnect(delayMs: number): void {
    this.reconnectTimer = setTimeout(async () => {
      try {
        const client = await this.connectListener();
        if (this.closing) {
          await client.end().catch(() => undefined);
          return;
        }
        this.listener = client;
        this.logger.info({ schema: this.schema }, "config store listener reconnected");
        // Changes committed while no one listened sent their NOTIFY into the void: reload anyway.
        this.notify();
      } catch {
        if (!this.closing) this.scheduleReconnect(Math.min(delayMs * 2, this.tuning.reconnectMaxMs));
      }
    }, delayMs);
    this.reconnectTimer.unref();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private async query<R extends QueryResultRow>(text: string, values: unknown[] = []) {
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      throw unavailable(error);
    }
  }

  private transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work, unavailable);
  }
}

interface Row {
  spec: NamespaceSpec;
  version: number;
  updated_at: string;
}

interface SchemaRow {
  name: string;
  version: number;
  descriptor: Buffer;
  registered_at: string;
}

function fromRow(row: Row): StoredNamespace {
  return { spec: row.spec, version: row.version, updatedAt: Number(row.updated_at) };
}

/** Driver text (which may name hosts or SQL) stays in `cause`. */
function unavailable(cause: unknown): PrismError {
  return new PrismError("Unavailable", "the config store (PostgreSQL) is not reachable", {
    cause,
    reason: "CONFIG_STORE_UNAVAILABLE",
  });
}
