/**
 * The admin web server's JSON API (`/api/*`), shared by the server (`admin/src`) and the browser
 * UI (`admin/ui`, type imports only). Every answer is JSON; every failure is an `ApiError` with
 * the HTTP status mapped from the gRPC code. Mutations (POST, DELETE) need the `x-csrf-token`
 * header holding `Session.csrfToken`.
 */

/** GET /api/session */
export interface Session {
  /** False when the gateway runs without auth: no login, every page open. */
  authRequired: boolean;
  /** The signed-in operator; undefined when auth is on and nobody is signed in (→ /auth/login). */
  user?: { subject: string; groups: string[]; admin: boolean };
  /** Echo in the `x-csrf-token` header of every POST and DELETE. */
  csrfToken: string;
}

/** Any non-2xx answer. */
export interface ApiError {
  error: {
    /** The gRPC code name (INVALID_ARGUMENT, NOT_FOUND, …) or HTTP-level (UNAUTHENTICATED, CSRF). */
    code: string;
    message: string;
    /** google.rpc.ErrorInfo reason, e.g. INVALID_NAMESPACE, SHADOW_PROMOTE_UNSAFE. */
    reason?: string;
    /** One per problem; `field` is a dotted path into the namespace (`shadow.mode`, `limits.rps`). */
    violations: { field: string; description: string }[];
    /** What to do about it, when the server knows. */
    hint?: string;
  };
}

export type Pattern = "keyvalue" | "timeseries" | "graph";
export type ShadowModeName = "dual-write" | "shadow-read" | "read-shadow";

export interface NamespaceView {
  name: string;
  pattern: Pattern;
  backend: string;
  schema?: string;
  shadow?: { backend: string; mode: ShadowModeName; sampleRate: number };
  access: { read: string[]; write: string[]; pii: string[] };
  limits: { maxValueBytes?: number; rps?: number };
  /** e.g. "30d"; timeseries only. */
  retention?: string;
  version: number;
  /** ISO 8601. */
  updateTime?: string;
  /** "config" namespaces are read-only (declared in the gateway config file). */
  source: "config" | "store";
  /** Requests/s over the last few seconds, from the traffic feed; 0 when idle or metrics are off. */
  requestRate: number;
}

/** GET /api/namespaces */
export interface NamespaceList {
  namespaces: NamespaceView[];
}

/** GET /api/namespaces/:name — the namespace and its YAML, ready for the editor. */
export interface NamespaceDetail {
  namespace: NamespaceView;
  yaml: string;
}

/** POST /api/namespaces — body; answers `ApplyResult` or `ApiError` (violations for inline errors). */
export interface ApplyRequest {
  yaml: string;
  dryRun?: boolean;
}
export interface ApplyResult {
  namespace: NamespaceView;
  created: boolean;
  dryRun: boolean;
}
/** DELETE /api/namespaces/:name → `{}` */

/** GET /api/backends */
export interface BackendView {
  name: string;
  type: string;
  health: "serving" | "not-serving" | "unknown";
  healthMessage: string;
  /** Health probe latency. */
  latencyMs: number;
  patterns: Pattern[];
  capabilities: string[];
  /** Circuit breaker state when the gateway reports one. */
  circuit?: "closed" | "open" | "half-open";
}
export interface BackendList {
  backends: BackendView[];
}

/**
 * One second of one namespace's traffic, derived by the admin server from two GetTraffic answers.
 * Latencies are estimated from the gateway's histogram buckets (upper bound of the bucket).
 */
export interface TrafficPoint {
  /** Epoch milliseconds at the end of the interval. */
  t: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Errors/s by gRPC code name over the interval; codes with none are absent. */
  errors: Record<string, number>;
}

/**
 * GET /api/traffic — the history the server keeps (the last 300 points per namespace).
 * GET /api/traffic/stream — Server-Sent Events: first an event `history` (a `TrafficHistory`),
 * then an event `tick` (a `TrafficTick`) every second. The server polls the gateway once a second
 * whatever the number of browsers; browsers never poll.
 */
export interface TrafficHistory {
  /** False when the gateway's metrics are off: no charts. */
  available: boolean;
  namespaces: Record<string, TrafficPoint[]>;
}
export interface TrafficTick {
  available: boolean;
  /** The newest point of each namespace with calls. */
  points: Record<string, TrafficPoint>;
}

/**
 * GET /api/shadow/:namespace — the namespace's migration, summed over every gateway; without a
 * shadow, `shadow` is absent and the counters are zero (the newest backfill, if any, still shows).
 */
export interface ShadowView {
  namespace: string;
  pattern: Pattern;
  primary: string;
  shadow?: { backend: string; mode: ShadowModeName; sampleRate: number };
  generation: number;
  writes: { ok: number; failed: number; dropped: number };
  queueDepth: number;
  reads: { match: number; mismatch: number; failed: number };
  /** match / (match + mismatch); undefined before the first compared read. */
  matchRate?: number;
  mismatches: { id: string; summary: string; time: string }[];
  gateways: number;
  backfill?: BackfillView;
}

/** POST /api/shadow/:namespace/start */
export interface StartShadowRequest {
  backend: string;
  mode: ShadowModeName;
  sampleRate?: number;
}
/** POST /api/shadow/:namespace/mode */
export interface SetShadowModeRequest {
  mode: ShadowModeName;
  sampleRate?: number;
}
/** POST /api/shadow/:namespace/promote and …/rollback (`force` skips the safety checks); …/stop takes `{}`. */
export interface PromoteRequest {
  force?: boolean;
}

export interface BackfillView {
  id: string;
  namespace: string;
  state: "pending" | "running" | "succeeded" | "failed" | "cancelled";
  /** "counting", "copying", "copying nodes", "copying edges". */
  phase: string;
  done: number;
  total: number;
  bytes: number;
  ratePerSecond: number;
  /** Seconds; undefined when unknown. */
  etaSeconds?: number;
  error?: string;
  startTime?: string;
  endTime?: string;
}
/** POST /api/backfill — body `StartBackfillRequest`, answers `BackfillView`. */
export interface StartBackfillRequest {
  namespace: string;
  recordsPerSecond?: number;
  bytesPerSecond?: number;
}
/** GET /api/backfill/:id → BackfillView; POST /api/backfill/:id/cancel → BackfillView. */

/** GET /api/audit?namespace=&principal=&since=ISO&until=ISO&limit=N */
export interface AuditEntryView {
  sequence: number;
  time: string;
  principal: string;
  namespace: string;
  action: string;
  recordId: string;
  fields: string[];
}
export interface AuditList {
  entries: AuditEntryView[];
  /** False when the gateway keeps no audit log (no PII namespaces): the page says so. */
  available: boolean;
}
