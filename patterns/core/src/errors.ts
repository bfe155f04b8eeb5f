import { type Capability, DEFAULT_REASON, type Reason } from "./reasons.js";

export * from "./reasons.js";

/**
 * The kinds of failure a backend or the gateway reports. Each maps to exactly one gRPC status
 * code (gateway/src/grpc/status.ts); a driver's own error is kept as `cause`, never shown to clients.
 */
export type ErrorKind =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "InvalidArgument"
  | "FailedPrecondition"
  | "Unavailable"
  | "DeadlineExceeded"
  | "Cancelled"
  | "ResourceExhausted"
  | "PermissionDenied"
  | "Unauthenticated"
  | "Unimplemented"
  | "Internal";

/** Extra context for a {@link PrismError}. */
export interface PrismErrorOptions {
  /**
   * Sent to clients as google.rpc.ErrorInfo.reason; one of {@link REASONS}, whose kind must match.
   * Defaults to the kind's {@link DEFAULT_REASON}.
   */
  reason?: Reason;
  /** The underlying driver error. Logged, never sent to clients. */
  cause?: unknown;
  /** Safe, non-PII context sent with the reason (e.g. `{ namespace: "demo-kv" }`). */
  metadata?: Record<string, string>;
  /** The request field at fault, for InvalidArgument. */
  field?: string;
  /**
   * Every problem found, each with its field (a dotted path, e.g. `shadow.mode`), for an
   * InvalidArgument that lists several: sent as google.rpc.BadRequest field violations.
   */
  violations?: readonly FieldViolation[];
  /** For a refusal under load: when the client may retry (sent as google.rpc.RetryInfo). */
  retryAfterMs?: number;
}

/** One problem with one field of a request. */
export interface FieldViolation {
  field: string;
  description: string;
}

/**
 * A typed failure. The message is shown to clients, so it must not contain driver text, SQL,
 * values or PII.
 *
 * @example throw new PrismError("Unavailable", "backend pg-main is not reachable", { cause: err })
 */
export class PrismError extends Error {
  override readonly name = "PrismError";
  readonly kind: ErrorKind;
  readonly reason: Reason;
  readonly metadata: Record<string, string>;
  readonly field: string | undefined;
  readonly violations: readonly FieldViolation[];
  readonly retryAfterMs: number | undefined;

  constructor(kind: ErrorKind, message: string, options: PrismErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.reason = options.reason ?? DEFAULT_REASON[kind];
    this.metadata = options.metadata ?? {};
    this.field = options.field;
    this.violations = options.violations ?? [];
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True when `error` is a {@link PrismError}, optionally of the given kind. */
export function isPrismError(error: unknown, kind?: ErrorKind): error is PrismError {
  return error instanceof PrismError && (kind === undefined || error.kind === kind);
}

/**
 * Throws the right error when a call's signal has fired: `DeadlineExceeded` for a timeout,
 * `Cancelled` otherwise. Backends call it before starting work and between steps.
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  throw abortError(signal);
}

/** The {@link PrismError} for a fired signal. */
export function abortError(signal: AbortSignal): PrismError {
  const reason: unknown = signal.reason;
  const timedOut = reason instanceof Error && reason.name === "TimeoutError";
  return timedOut || isPrismError(reason, "DeadlineExceeded")
    ? new PrismError("DeadlineExceeded", "deadline exceeded", { cause: reason })
    : new PrismError("Cancelled", "call cancelled", { cause: reason });
}

/**
 * A backend was asked for something it does not declare in its capabilities. The gateway and
 * every backend name the capability the same way (see {@link CAPABILITIES}).
 *
 * @example if (item.expiresAt !== undefined) throw unsupported("nats", "keyvalue.ttl")
 */
export function unsupported(backendType: string, capability: Capability): PrismError {
  return new PrismError("Unimplemented", `the ${backendType} backend does not support ${capability}`, {
    reason: "CAPABILITY_UNSUPPORTED",
    metadata: { backend: backendType, capability },
  });
}
