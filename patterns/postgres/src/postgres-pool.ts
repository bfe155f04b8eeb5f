import { abortError } from "@prism/core";
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
  run<T>(signal: AbortSignal | undefined, work: (client: SqlClient) => Promise<T>): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.ending) return Promise.reject(unavailable(this.backend));
    return new Promise<T>((resolve, reject) => {
      // One abort listener covers the whole call, the wait for a connection and the query; the
      // first of abort and outcome settles it, and whatever comes later only cleans up.
      let client: PoolClient | undefined;
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        return true;
      };
      const onAbort = () => {
        if (!settle()) return;
        if (client) {
          // A query is in flight: cancel it on the server and destroy the connection.
          requestCancel(client, this.connectTimeoutMs);
          client.release(ABORTED);
        }
        reject(abortError(signal!));
      };
      signal?.addEventListener("abort", onAbort);
      this.pool.connect().then(
        (connected) => {
          // Given up on while waiting: hand the connection straight back.
          if (settled) return connected.release();
          client = connected;
          this.prepareThenRun(connected, work).then(
            (result) => {
              if (!settle()) return;
              connected.release();
              resolve(result);
            },
            (error: unknown) => {
              if (!settle()) return;
              connected.release(breaksConnection(error) ? asError(error) : undefined);
              reject(toPrismError(error, this.backend));
            },
          );
        },
        (error: unknown) => {
          if (settle()) reject(toPrismError(error, this.backend));
        },
      );
    });
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

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error("connection discarded");
}

/** Why a connection was destroyed under a cancelled query. */
const ABORTED = new Error("call aborted with a query in flight");

function ignore(): void {}
