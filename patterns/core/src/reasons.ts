import type { ErrorKind } from "./errors.js";

/** What a reason means to a client, and the one kind (hence gRPC code) it is sent with. */
export interface ReasonInfo {
  readonly kind: ErrorKind;
  /** One line, for `docs-cms/reference/error-reasons.md`. */
  readonly meaning: string;
}

/**
 * Every `google.rpc.ErrorInfo.reason` Prism sends: the contract clients code against. A reason
 * always travels with the same kind. `reasons.test.ts` fails when the source throws a reason that
 * is not here (or with another kind), when a reason here is thrown nowhere, and when
 * `docs-cms/reference/error-reasons.md` disagrees with this table.
 *
 * @example new PrismError("NotFound", "namespace x does not exist", { reason: "NAMESPACE_NOT_FOUND" })
 */
export const REASONS = {
  // The default of each kind: what a PrismError carries when it names no reason.
  NOT_FOUND: { kind: "NotFound", meaning: "The thing the request names does not exist." },
  ALREADY_EXISTS: { kind: "AlreadyExists", meaning: "The thing the request creates already exists." },
  CONFLICT: { kind: "Conflict", meaning: "A concurrent change won; retry the whole operation." },
  INVALID_ARGUMENT: {
    kind: "InvalidArgument",
    meaning: "A request field is invalid; BadRequest names the field.",
  },
  FAILED_PRECONDITION: {
    kind: "FailedPrecondition",
    meaning: "The system is not in a state that allows the call.",
  },
  UNAVAILABLE: {
    kind: "Unavailable",
    meaning: "Something the call needs is unreachable; retry with backoff.",
  },
  DEADLINE_EXCEEDED: { kind: "DeadlineExceeded", meaning: "The call's deadline passed before it finished." },
  CANCELLED: { kind: "Cancelled", meaning: "The client cancelled the call." },
  RESOURCE_EXHAUSTED: { kind: "ResourceExhausted", meaning: "A quota or limit was reached." },
  PERMISSION_DENIED: { kind: "PermissionDenied", meaning: "The caller may not do this." },
  UNAUTHENTICATED: { kind: "Unauthenticated", meaning: "The call carries no valid credentials." },
  NOT_IMPLEMENTED: { kind: "Unimplemented", meaning: "This gateway does not implement the method called." },
  INTERNAL: { kind: "Internal", meaning: "A fault inside Prism; the details are only in the gateway's log." },

  // Any request.
  MALFORMED_REQUEST: {
    kind: "InvalidArgument",
    meaning: "The request message is not a valid protobuf encoding of the method's input.",
  },

  // Namespaces and access.
  NAMESPACE_REQUIRED: { kind: "InvalidArgument", meaning: "The request names no namespace." },
  NAMESPACE_NOT_FOUND: { kind: "NotFound", meaning: "No namespace of that name is configured or applied." },
  WRONG_PATTERN: {
    kind: "InvalidArgument",
    meaning: "The namespace serves another pattern than the service called.",
  },
  NAMESPACE_READ_ONLY: {
    kind: "FailedPrecondition",
    meaning: "The namespace is declared in the config file; AdminService cannot change or delete it.",
  },
  PER_PROCESS_STATE: {
    kind: "FailedPrecondition",
    meaning:
      "The gateway runs several worker processes and the namespace keeps state in one (a memory backend, admission limits).",
  },
  INVALID_NAMESPACE: {
    kind: "InvalidArgument",
    meaning: "A namespace spec to apply is invalid; the message lists why.",
  },
  ACCESS_DENIED: {
    kind: "PermissionDenied",
    meaning: "The caller lacks read or write access to the namespace.",
  },
  RATE_LIMITED: {
    kind: "ResourceExhausted",
    meaning: "The namespace's requests-per-second limit was reached.",
  },
  PRINCIPAL_RATE_LIMITED: {
    kind: "ResourceExhausted",
    meaning: "The caller's requests-per-second limit in the namespace (limits.principal_rps) was reached.",
  },
  CONCURRENCY_LIMITED: {
    kind: "ResourceExhausted",
    meaning: "The namespace has limits.concurrency calls in progress on this gateway; retry after the delay.",
  },
  OVERLOADED: {
    kind: "ResourceExhausted",
    meaning:
      "The gateway is shedding load (its event loop lags); retry after the delay, elsewhere if you can.",
  },

  // Authentication (auth.mode oidc or mtls) and administration.
  TOKEN_MISSING: { kind: "Unauthenticated", meaning: "The call carries no authorization: Bearer token." },
  TOKEN_MALFORMED: {
    kind: "Unauthenticated",
    meaning: "The authorization header is not one Bearer JWT of at most 8 KiB, or the JWT does not parse.",
  },
  TOKEN_EXPIRED: {
    kind: "Unauthenticated",
    meaning: "The token's exp has passed (beyond the allowed clock skew).",
  },
  TOKEN_NOT_YET_VALID: {
    kind: "Unauthenticated",
    meaning: "The token's nbf is in the future (beyond the allowed clock skew).",
  },
  TOKEN_ISSUER: { kind: "Unauthenticated", meaning: "The token's iss is not the configured issuer." },
  TOKEN_AUDIENCE: {
    kind: "Unauthenticated",
    meaning: "The token's aud does not include the configured audience.",
  },
  TOKEN_SIGNATURE: { kind: "Unauthenticated", meaning: "The token's signature does not verify." },
  TOKEN_ALGORITHM: {
    kind: "Unauthenticated",
    meaning: "The token is signed with an algorithm not allowed (none and HMAC never are).",
  },
  TOKEN_KEY_UNKNOWN: {
    kind: "Unauthenticated",
    meaning: "The token's key id is not in the issuer's published keys (JWKS), even after a refetch.",
  },
  TOKEN_CLAIMS: {
    kind: "Unauthenticated",
    meaning: "The token lacks exp or a usable subject claim, or another claim is invalid.",
  },
  ISSUER_UNAVAILABLE: {
    kind: "Unavailable",
    meaning: "The issuer's discovery document or keys cannot be fetched and none are cached; retry.",
  },
  CLIENT_CERT_MISSING: { kind: "Unauthenticated", meaning: "mTLS: the client presented no certificate." },
  CLIENT_CERT_INVALID: {
    kind: "Unauthenticated",
    meaning: "mTLS: the client certificate has no usable subject CN.",
  },
  ADMIN_REQUIRED: {
    kind: "PermissionDenied",
    meaning: "The AdminService method needs membership in one of auth.adminGroups.",
  },
  GRANT_EXCEEDS_APPLIER: {
    kind: "PermissionDenied",
    meaning: "An applied namespace grants access the applier does not hold; metadata names the entry.",
  },

  // Operations.
  METRICS_DISABLED: {
    kind: "FailedPrecondition",
    meaning: "GetTraffic reads the gateway's request metrics; set metrics.enabled.",
  },

  // Shadow traffic and backfill.
  SHADOW_NOT_CONFIGURED: {
    kind: "FailedPrecondition",
    meaning: "The namespace has no shadow; StartShadow first.",
  },
  SHADOW_ALREADY_CONFIGURED: {
    kind: "FailedPrecondition",
    meaning: "The namespace already has a shadow; stop it, or change its mode with SetShadowMode.",
  },
  SHADOW_PROMOTE_UNSAFE: {
    kind: "FailedPrecondition",
    meaning: "Promote or rollback refused: the message lists each failed check; force overrides.",
  },
  BACKFILL_RUNNING: {
    kind: "FailedPrecondition",
    meaning: "A backfill of the namespace is already running; metadata names it.",
  },
  BACKFILL_NOT_FOUND: { kind: "NotFound", meaning: "No backfill job has that id." },

  // KeyValue requests.
  ID_REQUIRED: { kind: "InvalidArgument", meaning: "The record id is empty." },
  ID_TOO_LONG: { kind: "InvalidArgument", meaning: "The record id is longer than the gateway allows." },
  INVALID_ID: { kind: "InvalidArgument", meaning: "The record id contains control characters." },
  KEY_TOO_LONG: {
    kind: "InvalidArgument",
    meaning: "An item key is longer than the gateway or backend allows.",
  },
  VALUE_TOO_LARGE: {
    kind: "InvalidArgument",
    meaning: "A value is larger than the namespace's max_value_bytes or the backend allows.",
  },
  INVALID_TTL: { kind: "InvalidArgument", meaning: "A TTL is not positive or exceeds 100 years." },
  INVALID_RANGE: { kind: "InvalidArgument", meaning: "A key range starts after it ends." },
  INVALID_IDEMPOTENCY_TOKEN: {
    kind: "InvalidArgument",
    meaning: "An idempotency token is not 1-128 printable ASCII characters.",
  },
  ITEMS_REQUIRED: { kind: "InvalidArgument", meaning: "A Put carries no items." },
  MUTATIONS_REQUIRED: { kind: "InvalidArgument", meaning: "A Mutate carries no mutations." },
  MUTATION_EMPTY: {
    kind: "InvalidArgument",
    meaning: "A mutation sets none of put, delete_keys or delete_range.",
  },
  TOO_MANY_ITEMS: {
    kind: "InvalidArgument",
    meaning: "A request names more items or keys than the gateway allows.",
  },
  INVALID_PAGE_TOKEN: {
    kind: "InvalidArgument",
    meaning: "A page token or scan cursor is malformed or belongs to another request.",
  },
  CAPABILITY_UNSUPPORTED: {
    kind: "Unimplemented",
    meaning: "The namespace's backend lacks a capability the request needs; metadata names both.",
  },

  // TimeSeries requests.
  SERIES_ID_REQUIRED: { kind: "InvalidArgument", meaning: "The series id is empty." },
  INVALID_SERIES_ID: {
    kind: "InvalidArgument",
    meaning: "The series id is too long or contains control characters.",
  },
  EVENTS_REQUIRED: { kind: "InvalidArgument", meaning: "A Write carries no events." },
  TOO_MANY_EVENTS: {
    kind: "InvalidArgument",
    meaning: "A Write carries more events than the gateway allows.",
  },
  EVENT_TIME_REQUIRED: { kind: "InvalidArgument", meaning: "An event has no event_time." },
  EVENT_OUTSIDE_WINDOW: {
    kind: "InvalidArgument",
    meaning:
      "An event's time is older or further ahead than the namespace's accept window; metadata names the event. Nothing of the batch is written.",
  },
  EVENT_ID_REQUIRED: { kind: "InvalidArgument", meaning: "An event has an empty event_id." },
  INVALID_EVENT_ID: {
    kind: "InvalidArgument",
    meaning: "An event id is too long or contains control characters.",
  },
  INVALID_TAG: {
    kind: "InvalidArgument",
    meaning: "An event or filter has too many tags, an empty tag key, or a tag larger than allowed.",
  },
  INVALID_TIME_RANGE: {
    kind: "InvalidArgument",
    meaning:
      "A timestamp is outside google.protobuf.Timestamp's range, or a read's start is not before its end.",
  },
  ASYNC_WRITES_FULL: {
    kind: "ResourceExhausted",
    meaning: "Too many async Writes are waiting for their backends; retry later or write synchronously.",
  },

  // Graph requests.
  EDGE_ENDPOINT_MISSING: {
    kind: "FailedPrecondition",
    meaning: "An edge names a node that does not exist; metadata names it. Nothing of the batch is written.",
  },
  NODE_NOT_FOUND: {
    kind: "NotFound",
    meaning: "The node a Neighbors, Traverse or ShortestPath starts from (or goes to) does not exist.",
  },
  TRAVERSAL_BUDGET_EXCEEDED: {
    kind: "ResourceExhausted",
    meaning: "A traversal or path search would examine more edges than the namespace's visit budget.",
  },
  INVALID_PROPERTY: {
    kind: "InvalidArgument",
    meaning:
      "A property has an empty or oversized name, no value, a non-finite double, or too many properties.",
  },
  NODE_ID_REQUIRED: { kind: "InvalidArgument", meaning: "A node or edge names an empty node id." },
  INVALID_NODE_ID: {
    kind: "InvalidArgument",
    meaning: "A node id is too long or contains control characters.",
  },
  INVALID_LABEL: {
    kind: "InvalidArgument",
    meaning: "A node or edge label is empty, too long or contains control characters.",
  },
  INVALID_DEPTH: {
    kind: "InvalidArgument",
    meaning: "max_depth is missing (0); it is required and capped by the gateway.",
  },

  // Backends.
  BACKEND_UNAVAILABLE: { kind: "Unavailable", meaning: "The namespace's backend server is unreachable." },
  BACKEND_LIMIT_REACHED: { kind: "ResourceExhausted", meaning: "The backend has no room for the write." },
  BACKEND_SECRET_UNAVAILABLE: {
    kind: "FailedPrecondition",
    meaning: "A backend option given as env: or file: cannot be read.",
  },
  INVALID_BACKEND_OPTIONS: { kind: "InvalidArgument", meaning: "A backend's options are invalid." },
  SCHEMA_TOO_NEW: {
    kind: "FailedPrecondition",
    meaning: "The backend's schema was written by a newer gateway; upgrade this one.",
  },
  CORRUPT_VALUE: { kind: "Internal", meaning: "A stored value cannot be decoded." },
  CHUNKED_VALUE_INCOMPLETE: {
    kind: "Internal",
    meaning: "Chunks of a large value are missing (an interrupted write not yet cleaned up).",
  },
  CHUNK_STAGING_TOO_SLOW: {
    kind: "DeadlineExceeded",
    meaning: "Storing the chunks of a large value took longer than allowed.",
  },

  // The config store (applied namespaces).
  CONFIG_STORE_UNAVAILABLE: { kind: "Unavailable", meaning: "The config store's server is unreachable." },
  CONFIG_STORE_SECRET_UNAVAILABLE: {
    kind: "FailedPrecondition",
    meaning: "The config store's URL, given as env: or file:, cannot be read.",
  },
  INVALID_CONFIG_STORE: {
    kind: "InvalidArgument",
    meaning: "The configStore section of the config is invalid.",
  },

  // Registered schemas and schema-driven values (AdminService.RegisterSchema, namespace `schema:`).
  INVALID_SCHEMA: {
    kind: "InvalidArgument",
    meaning:
      "The FileDescriptorSet does not parse, misses an import, is too large or uses a field number Prism reserves.",
  },
  SCHEMA_INCOMPATIBLE: {
    kind: "FailedPrecondition",
    meaning:
      "A registered file changed incompatibly (a field renamed, retyped or removed unreserved, a used message removed).",
  },
  SCHEMA_UNAVAILABLE: {
    kind: "FailedPrecondition",
    meaning: "The namespace's schema is not registered, or it seals fields and the gateway has no keyring.",
  },
  VALUE_SCHEMA_MISMATCH: {
    kind: "InvalidArgument",
    meaning: "A value written to a namespace with a schema does not decode as its message.",
  },

  // Encryption at rest and the audit log (ADR-0017, ADR-0018).
  KEYRING_INVALID: {
    kind: "FailedPrecondition",
    meaning:
      "pii.keyring cannot be read, is readable by group or others, or holds no valid 32-byte key (at start).",
  },
  KEYRING_NOT_CONFIGURED: {
    kind: "FailedPrecondition",
    meaning: "The namespace seals fields or a key is rotated, but the gateway config sets no pii.keyring.",
  },
  DATA_KEY_UNAVAILABLE: {
    kind: "Internal",
    meaning: "A data key is missing from the key store, or its key-encryption key from the keyring.",
  },
  SEALED_VALUE_CORRUPT: {
    kind: "Internal",
    meaning: "A sealed field does not authenticate: altered, truncated, or copied from another namespace.",
  },
  PII_STORE_UNAVAILABLE: {
    kind: "Unavailable",
    meaning: "The key store and audit log (the config store's PostgreSQL) are unreachable.",
  },
  NAMESPACE_NOT_ENCRYPTED: {
    kind: "FailedPrecondition",
    meaning: "StartReEncrypt names a namespace that is not KeyValue or has no schema with encrypted fields.",
  },
} as const satisfies Record<string, ReasonInfo>;

/** A reason Prism may send; see {@link REASONS}. */
export type Reason = keyof typeof REASONS;

/** The reason of a PrismError that names none. */
export const DEFAULT_REASON: Readonly<Record<ErrorKind, Reason>> = Object.freeze({
  NotFound: "NOT_FOUND",
  AlreadyExists: "ALREADY_EXISTS",
  Conflict: "CONFLICT",
  InvalidArgument: "INVALID_ARGUMENT",
  FailedPrecondition: "FAILED_PRECONDITION",
  Unavailable: "UNAVAILABLE",
  DeadlineExceeded: "DEADLINE_EXCEEDED",
  Cancelled: "CANCELLED",
  ResourceExhausted: "RESOURCE_EXHAUSTED",
  PermissionDenied: "PERMISSION_DENIED",
  Unauthenticated: "UNAUTHENTICATED",
  // Not UNIMPLEMENTED: NOT_IMPLEMENTED is the name clients already see for the same thing.
  Unimplemented: "NOT_IMPLEMENTED",
  Internal: "INTERNAL",
});

/**
 * The optional abilities a backend declares, by the one name used everywhere: in
 * `ListBackends` (`capabilityNames`), and in the `capability` metadata of `CAPABILITY_UNSUPPORTED`
 * errors, whether the gateway or a backend refuses the call.
 *
 * @example throw unsupported("nats", "keyvalue.ttl")
 */
export const CAPABILITIES = {
  "keyvalue.ttl": "Items may carry a TTL and disappear when it passes.",
  "keyvalue.atomic-mutate": "Mutate applies all its mutations or none.",
  "timeseries.live-tail": "Reads can follow new events as they are written.",
  "timeseries.native-retention": "The store itself drops events older than the retention.",
  "graph.native-traversal": "The store runs traversals itself instead of hop by hop.",
} as const satisfies Record<string, string>;

/** A capability name; see {@link CAPABILITIES}. */
export type Capability = keyof typeof CAPABILITIES;
