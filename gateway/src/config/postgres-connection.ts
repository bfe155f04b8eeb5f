import { PrismError, resolveSecret } from "@prism/core";
import { Pool, type PoolClient } from "pg";

/**
 * How the gateway's own PostgreSQL tables (config store, key store, audit log) connect: the url
 * resolved from `env:`/`file:`, a small pool with timeouts, and transactions that roll back and
 * discard a broken connection. Driver text (which may name hosts or SQL) stays in `cause`.
 */

/**
 * Resolves `env:`/`file:` to a postgres:// URL; errors name the reference, never a URL.
 *
 * @example const url = await resolvePostgresUrl("env:PRISM_CONFIG_PG")
 */
export async function resolvePostgresUrl(spec: string): Promise<string> {
  let url: string;
  try {
    url = await resolveSecret(spec);
  } catch (error) {
    throw new PrismError("FailedPrecondition", `configStore.url: cannot read it from ${spec}`, {
      cause: error,
      reason: "CONFIG_STORE_SECRET_UNAVAILABLE",
    });
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new PrismError("InvalidArgument", "configStore.url: not a postgres:// URL", {
      reason: "INVALID_CONFIG_STORE",
    });
  }
  return url;
}

/**
 * A pool of at most `max` connections with the gateway's timeouts; `applicationName` lets
 * operators tell the users of one database apart.
 *
 * @example const pool = openPostgresPool(url, "prism:key-store", 5000)
 */
export function openPostgresPool(
  url: string,
  applicationName: string,
  connectTimeoutMs: number,
  max = 4,
): Pool {
  const pool = new Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: 10_000,
    idle_in_transaction_session_timeout: 10_000,
    application_name: applicationName,
    keepAlive: true,
  });
  // An idle connection dropped by the server emits here; the pool already discarded it.
  pool.on("error", () => undefined);
  return pool;
}

/**
 * Runs `work` in a transaction on one pooled connection. A failure that is not already a
 * PrismError becomes `unavailable(error)`; a connection whose ROLLBACK failed is discarded.
 *
 * @example await inTransaction(pool, (client) => client.query("…"), storeUnavailable)
 */
export async function inTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  unavailable: (cause: unknown) => PrismError,
): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw unavailable(error);
  }
  let broken = false;
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    broken = await client.query("ROLLBACK").then(
      () => false,
      () => true,
    );
    throw error instanceof PrismError ? error : unavailable(error);
  } finally {
    client.release(broken);
  }
}
