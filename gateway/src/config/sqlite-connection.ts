import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

/**
 * Opens a SQLite file the way the gateway's own tables (config store, key store, audit log) use
 * it: directory created, WAL so readers never block the writer, and a busy timeout so gateways on
 * one host sharing the file wait for each other's write transactions instead of failing.
 *
 * @example const db = openSqliteFile(".prism-data/config.db")
 */
export function openSqliteFile(file: string): Database.Database {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  return db;
}
