import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TsStore } from "./ts-stores.js";

/** The backends every pattern bench runs on the same way. */
export type SharedBackend = "memory" | "sqlite" | "postgres";

/**
 * Fresh storage on a backend every pattern shares: nothing for memory, SQLite files in a
 * temporary directory, or a PostgreSQL schema `bench_<bench>_<run>` dropped by `cleanup`.
 * `bench` names the bench in paths, schemas and warnings (`ts`, `graph`).
 *
 * @example const store = sharedStore("postgres", "graph", run, pgUrl)
 */
export function sharedStore(backend: SharedBackend, bench: string, run: string, pgUrl: string): TsStore {
  const dir = benchDir(bench, backend);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  switch (backend) {
    case "memory":
      return { gateway: { type: "memory" }, env: {}, direct: {}, dir, cleanup: async () => removeDir() };
    case "sqlite":
      return {
        gateway: { type: "sqlite", path: join(dir, "gateway.db") },
        env: {},
        direct: { path: join(dir, "direct.db") },
        dir,
        cleanup: async () => removeDir(),
      };
    case "postgres": {
      const schema = benchSchema(bench, run);
      return {
        gateway: { type: "postgres", url: "env:PRISM_BENCH_PG_URL", schema },
        env: { PRISM_BENCH_PG_URL: pgUrl },
        direct: { url: pgUrl, schema },
        dir,
        async cleanup() {
          removeDir();
          await onPostgres(pgUrl, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((error: unknown) =>
            cleanupWarning(bench, `schema ${schema}`, error),
          );
        },
      };
    }
  }
}

/** The PostgreSQL schema of one bench run. */
export function benchSchema(bench: string, run: string): string {
  return `bench_${bench}_${run}`;
}

/** A temporary directory of one bench run on one backend. */
export function benchDir(bench: string, backend: string): string {
  return mkdtempSync(join(tmpdir(), `prism-bench-${bench}-${backend}-`));
}

/** Runs one statement on its own connection. */
export async function onPostgres(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query(statement);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Cleanup never fails a run: what could not be removed is named on stderr. */
export function cleanupWarning(bench: string, what: string, error: unknown): void {
  process.stderr.write(`bench ${bench}: could not remove ${what}: ${(error as Error).message}\n`);
}
