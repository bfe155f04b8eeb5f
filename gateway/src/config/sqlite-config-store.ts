import type Database from "better-sqlite3";
import {
  asBuffer,
  type ConfigStore,
  type NewSchemaFile,
  type StoredNamespace,
  type StoredSchemaFile,
  type StoredState,
  schemaVersionConflict,
} from "./config-store.js";
import type { NamespaceSpec } from "./namespace-spec.js";
import { openSqliteFile } from "./sqlite-connection.js";
import { checkStateAddress, checkStateListing, checkStatePut, stateConflict } from "./state-rules.js";

/**
 * Applied namespaces in one SQLite file (WAL), for a single gateway or several on one host sharing
 * the file. Every change bumps a generation row in the same transaction. SQLite cannot push changes
 * to other processes, so `watch` polls `PRAGMA data_version` (moves when another connection
 * commits; no table read), then reads the generation, so that another gateway's shared-state
 * writes (which do not bump it) wake no one; it notifies on its own commits directly.
 *
 * @example const store = new SqliteConfigStore(".prism-data/config.db", 1000)
 */
export class SqliteConfigStore implements ConfigStore {
  private readonly db: Database.Database;
  private readonly statements;
  private readonly listeners = new Set<() => void>();
  private poller: NodeJS.Timeout | undefined;
  private dataVersion = 0;
  private seenGeneration = 0;

  /** @param pollIntervalMs how often `watch` looks for commits by other processes */
  constructor(
    file: string,
    private readonly pollIntervalMs = 1000,
  ) {
    this.db = openSqliteFile(file);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS namespaces (
        name TEXT PRIMARY KEY, spec TEXT NOT NULL, version INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS schema_files (
        name TEXT NOT NULL, version INTEGER NOT NULL, descriptor BLOB NOT NULL, registered_at INTEGER NOT NULL,
        PRIMARY KEY (name, version));
      CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS shared_state (
        kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;
      INSERT OR IGNORE INTO store_meta (key, value) VALUES ('generation', 0);`);
    this.statements = {
      list: this.db.prepare("SELECT spec, version, updated_at FROM namespaces ORDER BY name"),
      get: this.db.prepare("SELECT spec, version, updated_at FROM namespaces WHERE name = ?"),
      upsert: this.db.prepare(`INSERT INTO namespaces (name, spec, version, updated_at) VALUES (?, ?, 1, ?)
        ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, version = version + 1, updated_at = excluded.updated_at
        RETURNING version`),
      delete: this.db.prepare("DELETE FROM namespaces WHERE name = ?"),
      generation: this.db.prepare("SELECT value FROM store_meta WHERE key = 'generation'").pluck(),
      bump: this.db.prepare("UPDATE store_meta SET value = value + 1 WHERE key = 'generation'"),
      schemaFiles: this.db.prepare(`SELECT name, version, descriptor, registered_at FROM schema_files s
        WHERE version = (SELECT MAX(version) FROM schema_files WHERE name = s.name) ORDER BY name`),
      schemaVersion: this.db
        .prepare("SELECT COALESCE(MAX(version), 0) FROM schema_files WHERE name = ?")
        .pluck(),
      addSchemaFile: this.db.prepare(
        "INSERT INTO schema_files (name, version, descriptor, registered_at) VALUES (?, ?, ?, ?)",
      ),
      getState: this.db.prepare(
        "SELECT kind, key, value, version, updated_at FROM shared_state WHERE kind = ? AND key = ?",
      ),
      // substr and length count characters, as the prefix does; BINARY order = UTF-8 byte order.
      listState: this.db.prepare(`SELECT kind, key, value, version, updated_at FROM shared_state
        WHERE kind = @kind AND substr(key, 1, length(@prefix)) = @prefix ORDER BY key`),
      // Each write below is one statement, so the compare and the set are one atomic step even
      // with several processes on the file (SQLite serializes writers).
      upsertState: this.db.prepare(`INSERT INTO shared_state (kind, key, value, version, updated_at)
        VALUES (?, ?, ?, 1, ?) ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value,
        version = version + 1, updated_at = excluded.updated_at RETURNING version`),
      insertState: this.db.prepare(`INSERT INTO shared_state (kind, key, value, version, updated_at)
        VALUES (?, ?, ?, 1, ?) ON CONFLICT (kind, key) DO NOTHING RETURNING version`),
      replaceState: this.db.prepare(`UPDATE shared_state SET value = ?, version = version + 1, updated_at = ?
        WHERE kind = ? AND key = ? AND version = ? RETURNING version`),
      deleteState: this.db.prepare("DELETE FROM shared_state WHERE kind = ? AND key = ?"),
    };
  }

  async list(): Promise<StoredNamespace[]> {
    return (this.statements.list.all() as Row[]).map(fromRow);
  }

  async get(name: string): Promise<StoredNamespace | undefined> {
    const row = this.statements.get.get(name) as Row | undefined;
    return row && fromRow(row);
  }

  async put(spec: NamespaceSpec): Promise<StoredNamespace> {
    const updatedAt = Date.now();
    const version = this.db.transaction(() => {
      const { version } = this.statements.upsert.get(spec.name, JSON.stringify(spec), updatedAt) as {
        version: number;
      };
      this.statements.bump.run();
      return version;
    })();
    this.notify();
    return { spec, version, updatedAt };
  }

  async delete(name: string): Promise<boolean> {
    const deleted = this.db.transaction(() => {
      const deleted = this.statements.delete.run(name).changes > 0;
      if (deleted) this.statements.bump.run();
      return deleted;
    })();
    if (deleted) this.notify();
    return deleted;
  }

  async schemaFiles(): Promise<StoredSchemaFile[]> {
    return (this.statements.schemaFiles.all() as SchemaRow[]).map((row) => ({
      name: row.name,
      version: row.version,
      registeredAt: row.registered_at,
      descriptor: new Uint8Array(row.descriptor),
    }));
  }

  async addSchemaFiles(files: readonly NewSchemaFile[]): Promise<number> {
    const registeredAt = Date.now();
    this.db.transaction(() => {
      for (const file of files) {
        if ((this.statements.schemaVersion.get(file.name) as number) !== file.version - 1) {
          throw schemaVersionConflict(file.name);
        }
        this.statements.addSchemaFile.run(file.name, file.version, asBuffer(file.descriptor), registeredAt);
      }
      this.statements.bump.run();
    })();
    this.notify();
    return registeredAt;
  }

  async putState(kind: string, key: string, value: unknown, expectVersion?: number): Promise<StoredState> {
    const json = checkStatePut(kind, key, value, expectVersion);
    const updatedAt = Date.now();
    const row = (
      expectVersion === undefined
        ? this.statements.upsertState.get(kind, key, json, updatedAt)
        : expectVersion === 0
          ? this.statements.insertState.get(kind, key, json, updatedAt)
          : this.statements.replaceState.get(json, updatedAt, kind, key, expectVersion)
    ) as { version: number } | undefined;
    if (!row) throw stateConflict(kind, key);
    return { kind, key, value: JSON.parse(json), version: row.version, updatedAt };
  }

  async getState(kind: string, key: string): Promise<StoredState | undefined> {
    checkStateAddress(kind, key);
    const row = this.statements.getState.get(kind, key) as StateRow | undefined;
    return row && fromStateRow(row);
  }

  async listState(kind: string, keyPrefix = ""): Promise<StoredState[]> {
    checkStateListing(kind, keyPrefix);
    return (this.statements.listState.all({ kind, prefix: keyPrefix }) as StateRow[]).map(fromStateRow);
  }

  async deleteState(kind: string, key: string): Promise<boolean> {
    checkStateAddress(kind, key);
    return this.statements.deleteState.run(kind, key).changes > 0;
  }

  async generation(): Promise<number> {
    return this.statements.generation.get() as number;
  }

  watch(onChange: () => void): () => void {
    this.listeners.add(onChange);
    if (!this.poller && this.db.open) {
      this.dataVersion = this.readDataVersion();
      this.seenGeneration = this.statements.generation.get() as number;
      this.poller = setInterval(() => this.poll(), this.pollIntervalMs);
      this.poller.unref();
    }
    return () => {
      this.listeners.delete(onChange);
      if (this.listeners.size === 0) this.stopPolling();
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.stopPolling();
    if (this.db.open) this.db.close();
  }

  private poll(): void {
    if (!this.db.open) return;
    const version = this.readDataVersion();
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    const generation = this.statements.generation.get() as number;
    if (generation === this.seenGeneration) return;
    this.notify();
  }

  private readDataVersion(): number {
    return this.db.pragma("data_version", { simple: true }) as number;
  }

  /** Also records the generation the watchers are told about, so `poll` does not repeat it. */
  private notify(): void {
    if (this.db.open) this.seenGeneration = this.statements.generation.get() as number;
    for (const listener of [...this.listeners]) listener();
  }

  private stopPolling(): void {
    clearInterval(this.poller);
    this.poller = undefined;
  }
}

interface Row {
  spec: string;
  version: number;
  updated_at: number;
}

interface SchemaRow {
  name: string;
  version: number;
  descriptor: Buffer;
  registered_at: number;
}

interface StateRow {
  kind: string;
  key: string;
  value: string;
  version: number;
  updated_at: number;
}

function fromStateRow(row: StateRow): StoredState {
  return {
    kind: row.kind,
    key: row.key,
    value: JSON.parse(row.value),
    version: row.version,
    updatedAt: row.updated_at,
  };
}

function fromRow(row: Row): StoredNamespace {
  return { spec: JSON.parse(row.spec) as NamespaceSpec, version: row.version, updatedAt: row.updated_at };
}
