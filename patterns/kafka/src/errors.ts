import { abortError, isPrismError, PrismError } from "@prism/core";

/**
 * The one place Kafka driver failures become Prism error kinds. kafkajs errors are recognised by
 * `name`, `type` (the broker's error code name) and `retriable`, not by class, so we depend on the
 * driver's documented error shapes only.
 */

interface DriverError {
  name?: unknown;
  /** Broker error code name, e.g. `MESSAGE_TOO_LARGE`. */
  type?: unknown;
  /** Node system error code, e.g. `ECONNREFUSED`. */
  code?: unknown;
  retriable?: unknown;
  cause?: unknown;
  /** kafkajs keeps the last failure of an exhausted retry here. */
  originalError?: unknown;
}

/** The broker cannot be reached or is not ready: a retry later may well succeed. */
const CONNECTION_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSBrokerNotFound",
  "KafkaJSMetadataNotLoaded",
  "KafkaJSLockTimeout",
  "KafkaJSSASLAuthenticationError",
]);

const UNAVAILABLE_TYPES = new Set([
  "NOT_ENOUGH_REPLICAS",
  "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_FOR_PARTITION",
  "NOT_LEADER_OR_FOLLOWER",
  "REQUEST_TIMED_OUT",
  "NETWORK_EXCEPTION",
  "BROKER_NOT_AVAILABLE",
  "COORDINATOR_NOT_AVAILABLE",
  "KAFKA_STORAGE_ERROR",
  // An authorization failure is this backend's configuration problem, not the caller's.
  "TOPIC_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "SASL_AUTHENTICATION_FAILED",
]);

const TOO_LARGE_TYPES = new Set(["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE"]);
const EXHAUSTED_TYPES = new Set([
  "POLICY_VIOLATION",
  "THROTTLING_QUOTA_EXCEEDED",
  "INVALID_REPLICATION_FACTOR",
]);

/**
 * Maps any failure of a Kafka call to a {@link PrismError}. A fired `signal` wins: the caller gave
 * up, whatever the driver reported afterwards.
 */
export function toPrismError(error: unknown, backendName: string, signal?: AbortSignal): PrismError {
  if (isPrismError(error)) return error;
  if (signal?.aborted) return abortError(signal);
  const metadata = { backend: backendName };
  const types = chainTypes(error);
  if (types.some((type) => TOO_LARGE_TYPES.has(type))) {
    return new PrismError("InvalidArgument", `an event is larger than backend ${backendName} allows`, {
      reason: "VALUE_TOO_LARGE",
      cause: error,
      metadata,
    });
  }
  if (types.some((type) => EXHAUSTED_TYPES.has(type))) {
    return new PrismError("ResourceExhausted", `backend ${backendName} has no room for the write`, {
      reason: "BACKEND_LIMIT_REACHED",
      cause: error,
      metadata,
    });
  }
  if (isConnectionError(error)) return unavailable(backendName, error);
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

/** The broker's error code name of `error` or of an error it wraps (`OFFSET_OUT_OF_RANGE`…). */
export function hasType(error: unknown, type: string): boolean {
  return chainTypes(error).includes(type);
}

function isConnectionError(error: unknown): boolean {
  for (const current of chain(error)) {
    const { name, type, code, retriable } = fields(current);
    if (typeof name === "string" && CONNECTION_NAMES.has(name)) return true;
    if (typeof type === "string" && UNAVAILABLE_TYPES.has(type)) return true;
    if (typeof code === "string" && code.startsWith("E")) return true;
    // Exhausted retries of a retriable broker error: the cluster is not ready, not our bug.
    if (name === "KafkaJSNumberOfRetriesExceeded" || retriable === true) return true;
  }
  return false;
}

function chainTypes(error: unknown): string[] {
  return chain(error)
    .map((current) => fields(current).type)
    .filter((type): type is string => typeof type === "string");
}

/** The error and the ones it wraps (`cause`, kafkajs's `originalError`), a few levels deep. */
function chain(error: unknown): unknown[] {
  const errors: unknown[] = [];
  for (let current = error; current && errors.length < 6; ) {
    errors.push(current);
    const { cause, originalError } = fields(current);
    current = originalError ?? cause;
  }
  return errors;
}

function fields(error: unknown): DriverError {
  return typeof error === "object" && error !== null ? (error as DriverError) : {};
}
