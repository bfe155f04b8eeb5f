import { PrismError } from "@prism/core";

/**
 * Node socket error codes that mean the server cannot be reached right now. A restart, a failover
 * or a network blip all surface as one of these; callers may retry.
 */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * Messages of errors `pg` and `pg-pool` raise without a code: a pool connect timeout, a connect
 * timeout, or a connection that died under a query. Matched here, and only here, because the
 * driver gives nothing more stable to match on.
 */
const CONNECTION_MESSAGES =
  /timeout exceeded when trying to connect|connection timeout|Connection terminated|not queryable|Cannot use a pool after calling end/i;

/** A server error's SQLSTATE: five digits or upper-case letters. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Server shutting down, crashed, or not yet accepting connections. */
const SHUTDOWN_STATES = new Set(["57P01", "57P02", "57P03"]);

/**
 * Maps anything a `pg` call threw to the {@link PrismError} clients see. The message names only the
 * backend instance: driver text, SQL and values stay in `cause`, which is logged, never sent.
 *
 * SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html):
 * - `08` connection exception, `57P01..03` shutdown / not accepting connections → Unavailable
 * - `57014` query_canceled (our `statement_timeout`) → DeadlineExceeded
 * - `53` insufficient resources (disk full, out of memory, too many connections) → ResourceExhausted
 * - `40001` serialization failure, `40P01` deadlock → Conflict (the request may be retried)
 * - `54` program limit exceeded (e.g. an item key too large for the index) → InvalidArgument
 * - anything else → Internal
 *
 * @example throw toPrismError(error, "pg-main")
 */
export function toPrismError(error: unknown, backend: string): PrismError {
  if (error instanceof PrismError) return error;
  const options = { cause: error, metadata: { backend } };
  const sqlState = sqlStateOf(error);
  if (sqlState !== undefined) {
    if (sqlState === "57014")
      return new PrismError("DeadlineExceeded", `backend ${backend} timed out`, options);
    if (sqlState.startsWith("08") || SHUTDOWN_STATES.has(sqlState)) return unavailable(backend, error);
    if (sqlState.startsWith("53")) {
      return new PrismError("ResourceExhausted", `backend ${backend} is out of resources`, options);
    }
    if (sqlState === "40001" || sqlState === "40P01") {
      return new PrismError("Conflict", `backend ${backend} aborted a conflicting write; retry`, options);
    }
    if (sqlState.startsWith("54")) {
      return new PrismError("InvalidArgument", `the request exceeds a limit of backend ${backend}`, options);
    }
    return internal(backend, error);
  }
  if (isConnectionFailure(error)) return unavailable(backend, error);
  return internal(backend, error);
}

/** The error for a backend that cannot serve requests right now. */
export function unavailable(backend: string, cause?: unknown): PrismError {
  return new PrismError("Unavailable", `backend ${backend} is unavailable`, {
    reason: "BACKEND_UNAVAILABLE",
    cause,
    metadata: { backend },
  });
}

/**
 * True when the connection that produced `error` cannot be reused: it must be destroyed rather
 * than returned to the pool. Ordinary SQL errors leave the session usable.
 */
export function breaksConnection(error: unknown): boolean {
  const sqlState = sqlStateOf(error);
  if (sqlState === undefined) return true;
  const severity = (error as { severity?: unknown }).severity;
  return (
    severity === "FATAL" || severity === "PANIC" || sqlState.startsWith("08") || sqlState.startsWith("57P")
  );
}

function internal(backend: string, cause: unknown): PrismError {
  return new PrismError("Internal", `backend ${backend} failed`, { cause, metadata: { backend } });
}

/** The SQLSTATE of a server error; undefined for socket and client-side errors. */
function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  // Server errors carry a severity; Node's socket errors reuse `code` for names like ECONNRESET.
  return typeof code === "string" && typeof severity === "string" && SQLSTATE.test(code) ? code : undefined;
}

function isConnectionFailure(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
  if (error instanceof AggregateError) return error.errors.some(isConnectionFailure);
  return typeof message === "string" && CONNECTION_MESSAGES.test(message);
}
