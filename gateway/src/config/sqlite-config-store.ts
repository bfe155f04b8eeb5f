import type Database from "better-sqlite3";
import {
  asBuffer,
  type ConfigStore,
  type NewSchemaFile,
  type StoredNamespace,
  type StoredSchemaFile,
  schemaVersionConflict,
} from "./config-store.js";
import type { NamespaceSpec } from "./namespace-spec.js";
import { openSqliteFile } from "./sqlite-connection.js";

/**
 * Applied namespaces in one SQLite file (WAL), for a single gateway or several on one host sharing
 * the file. Every change bumps a generation row in the same transaction. SQLite cannot push changes
 * to other processes, so `watch` polls `PRAGMA data_version` (moves when another connection
 * commits; no table read) and notifies on its own commits directly.
 *
 * @example const store = new SqliteConfigStore(".prism-data/config.db", 1000)
 */
export class SqliteConfigStore implements ConfigStore {
  private readonly db: Database.Database;
  private readonly statements;
  private readonly listeners = new Set<() => void>();
  private poller: NodeJS.Timeout | undefined;
  private dataVersion = 0;

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

  async generation(): Promise<number> {
    return this.statements.generation.get() as number;
  }

  watch(onChange: () => void): () => void {
    this.listeners.add(onChange);
    if (!this.poller && this.db.open) {
      this.dataVersion = this.readDataVersion();
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
    this.notify();
  }

  private readDataVersion(): number {
    return this.db.pragma("data_version", { simple: true }) as number;
  }

  private notify(): void {
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

function fromRow(row: Row): StoredNamespace {
  return { spec: JSON.parse(row.spec) as NamespaceSpec, version: row.version, updatedAt: row.updated_at };
}
