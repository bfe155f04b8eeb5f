import { mkdirSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { type Backend, type BackendDriver, OptionReader } from "@prism/core";
import Database from "better-sqlite3";
import { SqliteGraph } from "./sqlite-graph.js";
import { SqliteKeyValue } from "./sqlite-keyvalue.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./sqlite-schema.js";
import { SqliteTimeSeries } from "./sqlite-timeseries.js";
import type { SqliteDatabase } from "./sqlite-types.js";

export { SqliteGraph } from "./sqlite-graph.js";
export { SqliteKeyValue } from "./sqlite-keyvalue.js";
export { SqliteTimeSeries } from "./sqlite-timeseries.js";

/**
 * The `sqlite` backend type. Options: `path` (database file; relative paths are under the
 * gateway's data directory; `:memory:` for a private in-memory database; default `prism.db`),
 * `sweepIntervalMs` (expired-item sweeper, default 30000).
 */
export const sqliteDriver: BackendDriver = {
  type: "sqlite",
  patterns: ["keyvalue", "timeseries", "graph"],
  validate: (options) => optionsOf(options).problems,
  async open({ name, options, dataDir }): Promise<Backend> {
    const { path, sweepIntervalMs } = optionsOf(options);
    const file = path === ":memory:" || isAbsolute(path) ? path : join(dataDir, path);
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    const db = openDatabase(file);
    const keyvalue = new SqliteKeyValue(db);
    const sweeper = setInterval(() => keyvalue.sweep(), sweepIntervalMs);
    sweeper.unref();
    return {
      name,
      type: "sqlite",
      keyvalue,
      timeseries: new SqliteTimeSeries(db),
      graph: new SqliteGraph(db),
      async health() {
        const started = performance.now();
        try {
          db.prepare("SELECT 1").get({});
          return { ok: true, latencyMs: performance.now() - started };
        } catch {
          return {
            ok: false,
            message: "sqlite database is not readable",
            latencyMs: performance.now() - started,
          };
        }
      },
      async close() {
        clearInterval(sweeper);
        if (db.open) db.close();
      },
    };
  },
};

/** Opens a database in WAL mode and brings its schema to the current version. */
export function openDatabase(file: string): SqliteDatabase {
  const db = new Database(file) as unknown as SqliteDatabase;
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version < SCHEMA_VERSION) {
    db.transaction(() => {
      for (const statement of MIGRATIONS) db.exec(statement);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }
  return db;
}

function optionsOf(options: Record<string, unknown>) {
  const reader = new OptionReader(options).only("path", "sweepIntervalMs");
  const path = reader.string("path", "prism.db");
  const sweepIntervalMs = reader.integer("sweepIntervalMs", 30_000, 100, 3_600_000);
  return { path, sweepIntervalMs, problems: reader.problems };
}
