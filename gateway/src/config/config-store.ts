import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { NamespaceSpec } from "./namespace-spec.js";

/** A namespace applied through AdminService, as the store keeps it. */
export interface StoredNamespace {
  spec: NamespaceSpec;
  version: number;
  /** Epoch ms. */
  updatedAt: number;
}

/**
 * Applied namespaces, kept in SQLite so they survive restarts. Every change bumps a generation
 * counter; gateways sharing the file poll it and reload their registry when it moves.
 */
export class SqliteConfigStore {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(file: string) {
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS namespaces (
        name TEXT PRIMARY KEY, spec TEXT NOT NULL, version INTEGER NOT NULL, updated_at INTEGER NOT NULL);
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
    };
  }

  list(): StoredNamespace[] {
    return (this.statements.list.all() as Row[]).map(fromRow);
  }

  get(name: string): StoredNamespace | undefined {
    const row = this.statements.get.get(name) as Row | undefined;
    return row && fromRow(row);
  }

  /** Creates or replaces a namespace; returns its new version. */
  put(spec: NamespaceSpec): StoredNamespace {
    const updatedAt = Date.now();
    const version = this.db.transaction(() => {
      const { version } = this.statements.upsert.get(spec.name, JSON.stringify(spec), updatedAt) as {
        version: number;
      };
      this.statements.bump.run();
      return version;
    })();
    return { spec, version, updatedAt };
  }

  /** Deletes a namespace; false when it was not there. */
  delete(name: string): boolean {
    return this.db.transaction(() => {
      const deleted = this.statements.delete.run(name).changes > 0;
      if (deleted) this.statements.bump.run();
      return deleted;
    })();
  }

  /** Changes whenever any namespace changes. */
  generation(): number {
    return this.statements.generation.get() as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

interface Row {
  spec: string;
  version: number;
  updated_at: number;
}

function fromRow(row: Row): StoredNamespace {
  return { spec: JSON.parse(row.spec) as NamespaceSpec, version: row.version, updatedAt: row.updated_at };
}
