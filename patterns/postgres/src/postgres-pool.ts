import { abortError, throwIfAborted } from "@prism/core";
import { Pool, type PoolClient } from "pg";
import { requestCancel } from "./cancel-request.js";
import { breaksConnection, toPrismError, unavailable } from "./errors.js";
import type { PostgresOptions } from "./postgres-options.js";

/** A query: a plain SQL string, or a (named, hence prepared) statement with its values. */
export type SqlQuery = string | { name?: string; text: string; values?: unknown[] };

/** The part of a `pg` connection the backend uses (so the rest of the package never imports pg). */
export interface SqlClient {
  query<R = Record<string, unknown>>(query: SqlQuery): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * A `pg.Pool` with Prism's rules around it: every call is bounded by its signal, every error leaves
 * as a `PrismError`, broken connections are destroyed instead of reused, and the schema is migrated
 * before the first call that reaches the server (so a gateway can start while its database is down
 * and heal once it is back).
 */
export class PostgresPool {
  private readonly pool: Pool;
  private readonly connectTimeoutMs: number;
  private prepared = false;
  private ending: Promise<void> | undefined;

  /**
   * @param backend instance name, the only identifying text that goes into error messages
   * @param prepare runs once on the first connection (until it succeeds), e.g. schema migration
   */
  constructor(
    private readonly backend: string,
    url: string,
    options: PostgresOptions,
    private readonly prepare: (client: SqlClient) => Promise<void>,
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.pool = new Pool({
      connectionString: url,
      max: options.poolSize,
      // Bounds both a new connection and the wait for a free one: an unreachable or saturated
      // server fails calls as Unavailable instead of queueing them forever.
      connectionTimeoutMillis: options.connectTimeoutMs,
      // Server-side caps for calls without a deadline, and for a statement still running after
      // its caller gave up and its connection was dropped.
      statement_timeout: options.statementTimeoutMs,
      idle_in_transaction_session_timeout: options.statementTimeoutMs,
      application_name: `prism:${backend}`,
      keepAlive: true,
    });
    // An idle connection killed by a server restart emits here; the pool already dropped it, and
    // an unhandled 'error' event would crash the gateway.
    this.pool.on("error", ignore);
    // Same for a checked-out connection that dies between two queries of one call.
    this.pool.on("connect", (client) => client.on("error", ignore));
  }

  /**
   * Runs `work` on one pooled connection. When `signal` fires first, the call rejects at once with
   * DeadlineExceeded/Cancelled: the running statement is cancelled on the server (so a write that
   * was waiting, e.g. on a lock, does not apply later) and the connection is destroyed rather than
   * returned with a query in flight; an open transaction rolls back with it.
   *
   * @example const rows = await pool.run(signal, (client) => client.query(statement))
   */
  async run<T>(signal: AbortSignal | undefined, work: (client: SqlClient) => Promise<T>): Promise<T> {
    throwIfAborted(signal);
    if (this.ending) throw unavailable(this.backend);
    const connecting = this.pool.connect();
    let client: PoolClient;
    try {
      client = await raceSignal(connecting, signal);
    } catch (error) {
      // Given up on (or failed): hand the connection back whenever it arrives.
      connecting.then((late) => late.release(), ignore);
      throw toPrismError(error, this.backend);
    }
    try {
      const result = await raceSignal(this.prepareThenRun(client, work), signal);
      client.release();
      return result;
    } catch (error) {
      if (signal?.aborted) requestCancel(client, this.connectTimeoutMs);
      client.release(breaksConnection(error) ? asError(error) : undefined);
      throw toPrismError(error, this.backend);
    }
  }

  /**
   * Runs `work` in one transaction: COMMIT when it resolves, ROLLBACK when it throws.
   *
   * @example await pool.transaction(signal, async (client) => { await client.query(a); await client.query(b) })
   */
  transaction<T>(signal: AbortSignal | undefined, work: (client: SqlClient) => Promise<T>): Promise<T> {
    return this.run(signal, async (client) => {
      await client.query("BEGIN");
      try {
        const result = await work(client);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        // If ROLLBACK fails too the connection is broken: `run` destroys it.
        await client.query("ROLLBACK");
        throw error;
      }
    });
  }

  /** Closes every connection; calls made after this reject as Unavailable. Idempotent. */
  close(): Promise<void> {
    this.ending ??= this.pool.end().catch(ignore);
    return this.ending;
  }

  private async prepareThenRun<T>(client: PoolClient, work: (client: SqlClient) => Promise<T>): Promise<T> {
    if (!this.prepared) {
      await this.prepare(client);
      this.prepared = true;
    }
    return work(client);
  }
}

/** Settles like `work`, or rejects with the abort error as soon as `signal` fires. */
function raceSignal<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    if (signal.aborted) {
      onAbort();
      work.catch(ignore);
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error("connection discarded");
}

function ignore(): void {}
