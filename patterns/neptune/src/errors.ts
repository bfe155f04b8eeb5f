import { abortError, isPrismError, PrismError } from "@prism/core";

/**
 * The one place Gremlin driver failures become Prism error kinds. The driver's `ResponseError`
 * carries the server's status code (`statusCode`, TinkerPop's ResponseStatusCode) and message;
 * Neptune puts its own error code (`ConcurrentModificationException`, …) in that message. Socket
 * failures are Node system errors (`code: "ECONNREFUSED"`) or the driver's "Connection has been
 * closed.".
 */

interface DriverError {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  statusMessage?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** Thrown by the link when a request or connection attempt outlives its bound. */
export class GremlinTimeoutError extends Error {
  override readonly name = "GremlinTimeoutError";
}

/**
 * Neptune error codes that mean "try again": a conflicting concurrent write, a busy or restarting
 * instance, throttling, a timed-out query (TinkerPop status 598 covers Gremlin Server's).
 */
const RETRIABLE_NEPTUNE_CODES = [
  "ConcurrentModificationException",
  "ThrottlingException",
  "TimeLimitExceededException",
  "ReadOnlyViolationException",
  "CancelledByUserException",
  "InternalFailureException",
];
const LIMIT_NEPTUNE_CODES = [
  "MemoryLimitExceededException",
  "QueryLimitExceededException",
  "TooManyRequestsException",
];
const AUTH_NEPTUNE_CODES = ["AccessDeniedException", "MissingAuthenticationTokenException"];

/** TinkerPop status codes: 401/407 auth, 596 server unavailable, 598 evaluation timeout. */
const UNAVAILABLE_STATUS = new Set([401, 407, 596, 598]);

/**
 * Maps any failure of a Gremlin call to a {@link PrismError}. A fired `signal` wins: the caller
 * gave up, whatever the driver reported afterwards.
 */
export function toPrismError(error: unknown, backendName: string, signal?: AbortSignal): PrismError {
  if (isPrismError(error)) return error;
  if (signal?.aborted) return abortError(signal);
  const metadata = { backend: backendName };
  const text = serverText(error);
  if (LIMIT_NEPTUNE_CODES.some((code) => text.includes(code))) {
    return new PrismError("ResourceExhausted", `backend ${backendName} refused the query as too large`, {
      reason: "BACKEND_LIMIT_REACHED",
      cause: error,
      metadata,
    });
  }
  if (
    isConnectionError(error) ||
    [...RETRIABLE_NEPTUNE_CODES, ...AUTH_NEPTUNE_CODES].some((c) => text.includes(c))
  ) {
    return unavailable(backendName, error);
  }
  return new PrismError("Internal", `backend ${backendName} failed`, { cause: error, metadata });
}

/** The backend cannot be reached now; a retry later may succeed. */
export function unavailable(backendName: string, cause: unknown): PrismError {
  return new PrismError("Unavailable", `backend ${backendName} is unavailable`, {
    reason: "BACKEND_UNAVAILABLE",
    cause,
    metadata: { backend: backendName },
  });
}

/** A failure of the connection itself (not of one traversal): the link opens a new one. */
export function isConnectionError(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 6; depth++) {
    const { name, code, statusCode, message, cause } = fields(current);
    if (name === "GremlinTimeoutError") return true;
    if (typeof code === "string" && code.startsWith("E")) return true;
    if (typeof statusCode === "number" && UNAVAILABLE_STATUS.has(statusCode)) return true;
    if (
      typeof message === "string" &&
      /connection has been closed|unexpected server response|websocket/i.test(message)
    ) {
      return true;
    }
    current = cause;
  }
  return false;
}

function serverText(error: unknown): string {
  const { statusCode, statusMessage } = fields(error);
  return typeof statusCode === "number" && typeof statusMessage === "string" ? statusMessage : "";
}

function fields(error: unknown): DriverError {
  return typeof error === "object" && error !== null ? (error as DriverError) : {};
}
