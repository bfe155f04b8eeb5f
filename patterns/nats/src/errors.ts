import { abortError, isPrismError, PrismError } from "@prism/core";

/**
 * The one place NATS driver failures become Prism error kinds. Driver errors are recognised by
 * `name` and JetStream `code` rather than `instanceof`, so we depend on the driver's documented
 * error shapes, not on its classes (and a second copy of the driver in node_modules still maps).
 */

/** What we read from a driver error. */
interface DriverError {
  name?: unknown;
  /** JetStream API `err_code`, or a Node system error code such as `ECONNREFUSED`. */
  code?: unknown;
  /** JetStream API status (HTTP-like: 404, 503…). */
  status?: unknown;
  cause?: unknown;
}

/** The client cannot reach a server right now: a retry later may well succeed. */
const CONNECTION_ERRORS = new Set([
  "ConnectionError",
  "ClosedConnectionError",
  "DrainingConnectionError",
  "TimeoutError",
  "RequestError",
  "NoResponders",
  "JetStreamNotEnabled",
  // An auth failure is a configuration problem of this backend, not of the caller: the client
  // can do nothing but retry, and the operator sees the cause in the logs.
  "AuthorizationError",
  "UserAuthenticationExpiredError",
  "PermissionViolationError",
]);

const SYSTEM_ERRORS = new Set([
  "CONNECTION_REFUSED",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** JetStream `err_code`s meaning a stream limit or the server's storage is exhausted. */
const EXHAUSTED_CODES = new Set([
  10027, // maximum number of streams reached
  10028, // insufficient memory resources
  10047, // insufficient storage resources
  10054, // message size exceeds the stream's maximum
]);

const STREAM_NOT_FOUND = 10059;
const WRONG_LAST_SEQUENCE = new Set([10071, 10164]);

/**
 * Maps any failure of a NATS call to a {@link PrismError}. A fired `signal` wins: the caller gave
 * up, whatever the driver reported afterwards.
 */
export function toPrismError(error: unknown, backendName: string, signal?: AbortSignal): PrismError {
  if (isPrismError(error)) return error;
  if (signal?.aborted) return abortError(signal);
  const metadata = { backend: backendName };
  if (isConnectionError(error)) return unavailable(backendName, error);
  const { code, status } = fields(error);
  if (typeof code === "number" && EXHAUSTED_CODES.has(code)) {
    return new PrismError("ResourceExhausted", `backend ${backendName} has no room for the write`, {
      reason: "BACKEND_LIMIT_REACHED",
      cause: error,
      metadata,
    });
  }
  if (status === 503) return unavailable(backendName, error);
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

/** The JetStream stream behind a bucket does not exist (a read of a namespace never written). */
export function isStreamNotFound(error: unknown): boolean {
  const { name, code } = fields(error);
  return name === "StreamNotFoundError" || code === STREAM_NOT_FOUND;
}

/**
 * A publish found no stream listening on the bucket's subjects: the bucket was deleted behind our
 * back (or JetStream is off, which the retry then reports).
 */
export function isBucketGone(error: unknown): boolean {
  const { name } = fields(error);
  return isStreamNotFound(error) || name === "JetStreamNotEnabled";
}

/** `kv.create` lost to an existing key: for idempotency markers, a replay. */
export function isAlreadyCreated(error: unknown): boolean {
  const { code } = fields(error);
  return typeof code === "number" && WRONG_LAST_SEQUENCE.has(code);
}

function isConnectionError(error: unknown): boolean {
  // Walk the cause chain: the driver wraps e.g. NoResponders in RequestError and a socket error in
  // ConnectionError.
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const { name, code, cause } = fields(current);
    if (typeof name === "string" && CONNECTION_ERRORS.has(name)) return true;
    if (typeof code === "string" && SYSTEM_ERRORS.has(code)) return true;
    current = cause;
  }
  return false;
}

function fields(error: unknown): DriverError {
  return typeof error === "object" && error !== null ? (error as DriverError) : {};
}
