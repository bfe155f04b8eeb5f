import {
  type Backend,
  type BackendDriver,
  type HealthReport,
  isPrismError,
  PrismError,
  resolveSecret,
} from "@prism/core";
import { buildGraphStatements } from "./graph-sql.js";
import { postgresManifest } from "./manifest.js";
import { PostgresGraph } from "./postgres-graph.js";
import { PostgresKeyValue } from "./postgres-keyvalue.js";
import { isPostgresUrl, type PostgresOptions, readPostgresOptions } from "./postgres-options.js";
import { PostgresPool } from "./postgres-pool.js";
import { PostgresTimeSeries } from "./postgres-timeseries.js";
import { migrate } from "./schema.js";
import { buildStatements, type Statement } from "./sql.js";
import { Sweeper } from "./sweeper.js";
import { ArrivalListener } from "./ts-listener.js";
import { TsPartitions } from "./ts-partitions.js";
import { buildTsStatements } from "./ts-sql.js";

/**
 * The `postgres` backend type: KeyValue, TimeSeries (ADR-0011) and Graph (ADR-0014) in PostgreSQL.
 *
 * Options: `url` (required; `postgres://…`, or `env:NAME` / `file:/path` to keep the password out
 * of the config), `poolSize` (10), `schema` (`prism`), `sweepIntervalMs` (30000),
 * `connectTimeoutMs` (3000), `statementTimeoutMs` (30000).
 *
 * `open` creates or migrates the schema. When the server is unreachable, `open` still succeeds,
 * so one database being down does not keep the gateway from starting: calls fail as Unavailable,
 * `health` reports it, and the first call that reaches the server migrates.
 *
 * @example
 * const pg = await postgresDriver.open({ name: "pg-main", options: { url: "env:PRISM_PG_URL" }, dataDir });
 */
export const postgresDriver: BackendDriver = {
  type: postgresManifest.type,
  patterns: postgresManifest.patterns,
  validate: postgresManifest.validate,

  async open({ name, options: raw }): Promise<Backend> {
    const { options, problems } = readPostgresOptions(raw);
    if (problems.length > 0) {
      throw new PrismError("InvalidArgument", `backend ${name}: ${problems.join("; ")}`, {
        reason: "INVALID_BACKEND_OPTIONS",
      });
    }
    const url = await resolveUrl(name, options.url);
    const pool = new PostgresPool(name, url, options, (client) => migrate(client, options.schema));
    try {
      // Reaching the server runs the migration; only "unreachable" is left for later calls.
      await pool.run(undefined, async () => undefined);
    } catch (error) {
      if (!isPrismError(error, "Unavailable")) {
        await pool.close();
        throw error;
      }
    }
    const sql = buildStatements(options.schema);
    const sweeper = new Sweeper(pool, sql, options.sweepIntervalMs);
    sweeper.start();
    const timeseries = openTimeSeries(name, url, options, pool);
    return {
      name,
      type: "postgres",
      keyvalue: new PostgresKeyValue(pool, sql),
      timeseries: timeseries.backend,
      graph: new PostgresGraph(pool, buildGraphStatements(options.schema)),
      health: (signal) => health(name, pool, signal, sql.health),
      async close() {
        sweeper.stop();
        await timeseries.listener.close();
        await pool.close();
      },
    };
  },
};

/** TimeSeries on the shared pool, with the instance's one listening connection (opened by the first tail). */
function openTimeSeries(name: string, url: string, options: PostgresOptions, pool: PostgresPool) {
  const channel = `prism_ts_${options.schema}`;
  const listener = new ArrivalListener(url, channel, `prism:${name}:listen`, options.connectTimeoutMs);
  const tsSql = buildTsStatements(options.schema);
  const partitions = new TsPartitions(pool, tsSql, options.schema);
  return { listener, backend: new PostgresTimeSeries(pool, tsSql, partitions, listener, channel) };
}

/** Resolves `env:`/`file:` and checks the result; errors name where the url came from, never it. */
async function resolveUrl(backend: string, spec: string): Promise<string> {
  let url: string;
  try {
    url = await resolveSecret(spec);
  } catch (error) {
    throw new PrismError("FailedPrecondition", `backend ${backend}: cannot read option url from ${spec}`, {
      cause: error,
      reason: "BACKEND_SECRET_UNAVAILABLE",
    });
  }
  if (!isPostgresUrl(url)) {
    throw new PrismError("InvalidArgument", `backend ${backend}: option url is not a postgres:// URL`, {
      reason: "INVALID_BACKEND_OPTIONS",
    });
  }
  return url;
}

async function health(
  backend: string,
  pool: PostgresPool,
  signal: AbortSignal,
  probe: Statement,
): Promise<HealthReport> {
  const started = performance.now();
  const latency = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    await pool.run(signal, (client) => client.query(probe));
    return { ok: true, latencyMs: latency() };
  } catch (error) {
    // PrismError messages name only the backend; anything else gets a generic one.
    const message = isPrismError(error) ? error.message : `backend ${backend} failed`;
    return { ok: false, message, latencyMs: latency() };
  }
}
