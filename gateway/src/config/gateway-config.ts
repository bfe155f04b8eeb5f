import { z } from "zod";
import { authConfigSchema, tlsConfigSchema } from "../auth/auth-config.js";
import { durationSchema, namespaceSpecSchema } from "./namespace-spec.js";

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "must be host:port, e.g. 127.0.0.1:8980");

const backendInstance = z.looseObject({ type: z.string().min(1) });

/**
 * The gateway config file (YAML). Validated once at start — every problem listed — then frozen.
 *
 * @example
 * listen: { grpc: 127.0.0.1:8980 }
 * backends: { local: { type: sqlite, path: prism.db } }
 * namespaces: [{ name: demo-kv, pattern: keyvalue, backend: local }]
 */
export const gatewayConfigSchema = z.strictObject({
  listen: z
    .strictObject({
      grpc: hostPort.default("127.0.0.1:8980"),
      /**
       * Largest request message accepted; larger ones get RESOURCE_EXHAUSTED before they are
       * decoded. Default: the largest value any namespace may store, plus 1 MiB for the rest.
       */
      maxReceiveBytes: z
        .number()
        .int()
        .min(64 << 10)
        .max(1 << 30)
        .optional(),
    })
    .prefault({}),
  /**
   * Prometheus metrics: `GET /metrics` on `listen` (`PRISM_METRICS_ADDR` overrides; port 0 picks a
   * free one). Beyond loopback only with `auth.mode` set, like `listen.grpc`.
   */
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true),
      listen: hostPort.default("127.0.0.1:9464"),
    })
    .prefault({}),
  /**
   * The admin web UI (`admin/`, ADR-0024): served on `listen` (`PRISM_ADMIN_ADDR` overrides; port 0
   * picks a free one); it talks to this gateway's AdminService over gRPC. On by default with
   * `auth.mode: none` (loopback only); with `oidc` it signs operators in (authorization code + PKCE)
   * as `admin.oidc.clientId` at `auth.oidc.issuer`, and may then listen beyond loopback. Not served
   * with `mtls` (browsers hold no gateway client certificate).
   */
  admin: z
    .strictObject({
      /** Default: on with auth.mode none, or oidc with admin.oidc set; off otherwise. */
      enabled: z.boolean().optional(),
      listen: hostPort.default("127.0.0.1:8981"),
      oidc: z
        .strictObject({
          /** The UI's client at the issuer; its redirect URI is `<public url>/auth/callback`. */
          clientId: z.string().min(1).max(500),
          /** For a confidential client: `env:NAME` or `file:/path` (never the secret itself). */
          clientSecret: z
            .string()
            .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\S.*)$/, "must be env:NAME or file:/path")
            .optional(),
          scopes: z
            .array(z.string().regex(/^[\x21-\x7e]{1,100}$/))
            .max(20)
            .default(["openid"]),
          /** The URL browsers reach the UI at (behind a proxy); default `http://<listen>`. */
          publicUrl: z.string().max(2048).url().optional(),
        })
        .optional(),
      /** The CA that signed the gateway's certificate, when `tls` is set (default: tls.certFile itself). */
      gatewayCaFile: z.string().min(1).optional(),
      /** How long a signed-in session lasts without use. */
      sessionIdleMs: z.number().int().min(60_000).max(86_400_000).default(3_600_000),
    })
    .prefault({}),
  /** Where file-based backends and the default config store keep their files. */
  dataDir: z.string().min(1).default(".prism-data"),
  /**
   * Where applied namespaces live. `sqlite` (default): a file under dataDir, shared by the gateways
   * of one host, each polling it every pollIntervalMs. `postgres`: one database for any number of
   * gateways, changes pushed with LISTEN/NOTIFY; url is a postgres:// URL, `env:NAME` or `file:/path`.
   */
  configStore: z
    .discriminatedUnion("type", [
      z.strictObject({
        type: z.literal("sqlite"),
        path: z.string().min(1).default("config.db"),
        pollIntervalMs: z.number().int().min(100).max(60_000).default(1000),
      }),
      z.strictObject({
        type: z.literal("postgres"),
        url: z
          .string()
          .regex(
            /^(postgres(ql)?:\/\/\S+|env:[A-Za-z_][A-Za-z0-9_]*|file:\S.*)$/,
            "must be a postgres:// or postgresql:// URL, env:NAME or file:/path",
          ),
        /** The PostgreSQL schema holding the store's tables (created if missing). */
        schema: z
          .string()
          .regex(
            /^[a-z_][a-z0-9_]{0,48}$/,
            "must be a lower-case identifier (letters, digits, _; at most 49)",
          )
          .default("prism"),
      }),
    ])
    .prefault({ type: "sqlite" }),
  /** Who callers are (`none` | `oidc` | `mtls`) and who may administer: see `auth/auth-config.ts`. */
  auth: authConfigSchema,
  /** TLS for the gRPC listener, in any auth mode; `clientCaFile` makes client certificates required. */
  tls: tlsConfigSchema,
  /**
   * Encryption at rest and audit of PII fields (ADR-0017, ADR-0018). `keyring`: the key-encryption
   * keys, from a file (mode 0600 or stricter) or an environment variable — one base64 key, or a
   * YAML/JSON `{active: ID, keys: {ID: base64}}`. Without it, namespaces cannot seal fields.
   */
  pii: z
    .strictObject({
      keyring: z
        .union([
          z.strictObject({ file: z.string().min(1) }),
          z.strictObject({
            env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"),
          }),
        ])
        .optional(),
      /** How long a gateway seals with the current data key it read before looking again (rotation by another gateway). */
      currentKeyTtlMs: z.number().int().min(0).max(600_000).default(10_000),
    })
    .prefault({}),
  backends: z.record(
    z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "backend names are a-z, 0-9 and -"),
    backendInstance,
  ),
  namespaces: z.array(namespaceSpecSchema).default([]),
  keyvalue: z
    .strictObject({
      /** Values above this are split into chunks transparently. */
      chunkBytes: z
        .number()
        .int()
        .min(1024)
        .max(64 << 20)
        .default(1 << 20),
      /** Largest value accepted when a namespace sets no limit. */
      maxValueBytes: z
        .number()
        .int()
        .min(1)
        .max(1 << 30)
        .default(16 << 20),
      maxKeyBytes: z.number().int().min(1).max(4096).default(1024),
      maxIdBytes: z.number().int().min(1).max(4096).default(512),
      maxItemsPerRequest: z.number().int().min(1).max(100_000).default(1000),
      defaultPageBytes: z
        .number()
        .int()
        .min(1)
        .default(1 << 20),
      maxPageBytes: z
        .number()
        .int()
        .min(1)
        .default(16 << 20),
      defaultPageItems: z.number().int().min(1).default(1000),
      maxPageItems: z.number().int().min(1).default(10_000),
      /** How often the background sweep looks for chunk sets no value references any more. */
      chunkSweepIntervalMs: z.number().int().min(1000).default(600_000),
      /**
       * An unreferenced chunk set younger than this is left alone (an in-flight write or a slow
       * read may still use it); must exceed maxDeadlineMs.
       */
      chunkGraceMs: z.number().int().min(1000).default(900_000),
    })
    .prefault({}),
  timeseries: z
    .strictObject({
      maxSeriesIdBytes: z.number().int().min(1).max(4096).default(256),
      maxEventIdBytes: z.number().int().min(1).max(4096).default(256),
      maxEventsPerWrite: z.number().int().min(1).max(100_000).default(10_000),
      /** Largest payload of one event when a namespace sets no limits.max_value_bytes. */
      maxPayloadBytes: z
        .number()
        .int()
        .min(1)
        .max(64 << 20)
        .default(1 << 20),
      maxTagsPerEvent: z.number().int().min(0).max(1000).default(64),
      /** Bytes of one tag's key plus value. */
      maxTagBytes: z.number().int().min(1).max(65_536).default(1024),
      defaultPageBytes: z
        .number()
        .int()
        .min(1)
        .default(1 << 20),
      maxPageBytes: z
        .number()
        .int()
        .min(1)
        .default(16 << 20),
      defaultPageEvents: z.number().int().min(1).default(1000),
      maxPageEvents: z.number().int().min(1).default(10_000),
      /** Retention of a namespace that sets none. */
      defaultRetention: durationSchema.default("30d"),
      /** Accept window of a namespace that sets none: how old, and how far ahead, an event may be. */
      defaultAcceptPast: durationSchema.default("7d"),
      defaultAcceptFuture: durationSchema.default("1h"),
      /** How often each namespace's retention is applied to storage. */
      retentionIntervalMs: z.number().int().min(1000).default(600_000),
      /** Async writes (Write with async) waiting for their backend, gateway-wide; more are refused. */
      maxAsyncWrites: z.number().int().min(0).max(100_000).default(1000),
    })
    .prefault({}),
  graph: z
    .strictObject({
      maxNodeIdBytes: z.number().int().min(1).max(4096).default(256),
      maxLabelBytes: z.number().int().min(1).max(1024).default(128),
      maxPropertiesPerItem: z.number().int().min(0).max(1000).default(64),
      maxPropertyNameBytes: z.number().int().min(1).max(1024).default(128),
      /** Bytes of one string or bytes property value. */
      maxPropertyValueBytes: z
        .number()
        .int()
        .min(1)
        .max(16 << 20)
        .default(64 << 10),
      /** Nodes, edges or ids in one request. */
      maxItemsPerRequest: z.number().int().min(1).max(100_000).default(1000),
      defaultNeighborsPage: z.number().int().min(1).default(100),
      maxNeighborsPage: z.number().int().min(1).default(1000),
      /** Deepest Traverse or ShortestPath, whatever a client asks. */
      maxDepth: z.number().int().min(1).max(100).default(6),
      defaultTraverseLimit: z.number().int().min(1).default(1000),
      maxTraverseLimit: z.number().int().min(1).default(10_000),
      /**
       * Traverse streams its nodes in messages of about this many bytes (one node larger than
       * this still goes, alone): a message per node cost grpc-js more than the search itself.
       */
      traverseMessageBytes: z
        .number()
        .int()
        .min(1024)
        .max(4 << 20)
        .default(128 * 1024),
      /** Edges one traversal may examine when its namespace sets no limits.visit_budget. */
      visitBudget: z.number().int().min(1).default(100_000),
    })
    .prefault({}),
  /** Shadow traffic (DESIGN §7): the dual-write queue, read comparisons, backfill and promotion. */
  shadow: z
    .strictObject({
      /** Writes waiting for the shadow per namespace; more are dropped (and counted). */
      queueMaxTasks: z.number().int().min(1).max(1_000_000).default(10_000),
      queueMaxBytes: z
        .number()
        .int()
        .min(1024)
        .max(1 << 30)
        .default(64 << 20),
      /** Records or series mirrored at once per namespace. */
      concurrency: z.number().int().min(1).max(1024).default(32),
      /** One mirrored write or shadow read; past it the write counts as failed. */
      timeoutMs: z.number().int().min(10).max(600_000).default(5000),
      /** Read comparisons running at once per namespace; more sampled reads are skipped. */
      maxComparisons: z.number().int().min(1).max(10_000).default(32),
      /** How often each gateway publishes its shadow counters to the config store. */
      statsIntervalMs: z.number().int().min(100).max(600_000).default(1000),
      /** Backfill throttle when StartBackfill sets none. */
      backfillRecordsPerSecond: z.number().int().min(1).max(10_000_000).default(5000),
      backfillBytesPerSecond: z
        .number()
        .int()
        .min(1024)
        .max(1 << 30)
        .default(32 << 20),
      /** A backfill whose gateway stopped renewing this long ago is resumed by another. */
      backfillLeaseMs: z.number().int().min(500).max(600_000).default(5000),
      /**
       * How long a backfill keeps trying a page again after transient errors (a backend
       * unavailable, a deadline, overload), counted from the last page that worked; then it fails
       * and a new StartBackfill continues from its checkpoint. 0 fails at the first error.
       */
      backfillGiveUpMs: z.number().int().min(0).max(86_400_000).default(120_000),
      /** Promote refuses when more than this fraction of compared reads mismatched (unless forced). */
      promoteMaxMismatchRatio: z.number().min(0).max(1).default(0),
    })
    .prefault({}),
  /**
   * OpenTelemetry traces (off by default; while off nothing of the SDK is loaded): a server span
   * per call and a child span per backend call, exported over OTLP/HTTP (JSON) in batches. A
   * client's W3C `traceparent` decides for its call; other calls are sampled at samplingRatio.
   */
  tracing: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** A collector's OTLP/HTTP traces endpoint. */
      endpoint: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:4318/v1/traces"),
      samplingRatio: z.number().min(0).max(1).default(0.01),
      /** `service.name` of the exported spans. */
      serviceName: z.string().min(1).max(256).default("prism-gateway"),
    })
    .prefault({}),
  /**
   * A circuit breaker per backend instance: after `failureThreshold` consecutive calls failing as
   * unavailable or timed out, the backend's namespaces get UNAVAILABLE at once for `openMs`, then
   * one probe call at a time decides whether it is back.
   */
  circuitBreaker: z
    .strictObject({
      /** Off: every call tries its backend, however often it failed just before. */
      enabled: z.boolean().default(true),
      /** Consecutive unavailable or timed-out calls that open the circuit. */
      failureThreshold: z.number().int().min(1).max(1000).default(5),
      /** How long an open circuit refuses calls before one probe is let through. */
      openMs: z.number().int().min(100).max(600_000).default(5000),
    })
    .prefault({}),
  /**
   * Retries of idempotent backend calls (reads, TimeSeries writes, KeyValue puts and deletes,
   * Graph upserts and deletes — never `mutate`) that failed as unavailable, e.g. a connection the
   * database dropped. Within a budget per backend, so retries never multiply a struggling
   * backend's load; not when its circuit is open; not after a timeout.
   */
  retries: z
    .strictObject({
      /** Attempts of one call in all, the first included; 1 turns retries off. */
      maxAttempts: z.number().int().min(1).max(5).default(2),
      /** Pause before the first retry, doubled for each further one, with ±50% jitter. */
      backoffMs: z.number().int().min(0).max(10_000).default(20),
      /** Retries per call at most, over time (0.1: at most 10% more backend calls). */
      budgetRatio: z.number().min(0).max(1).default(0.1),
      /** Retries a second allowed however quiet the backend is (and the most saved up). */
      minPerSecond: z.number().int().min(0).max(10_000).default(10),
    })
    .prefault({}),
  /**
   * Load shedding: while the event loop's delay (the worst in each `sampleMs`, two in a row) exceeds `shedLagMs`, bulk
   * calls (Scan, Tail, Traverse) are refused with RESOURCE_EXHAUSTED (OVERLOADED); beyond twice
   * that, every data call. Health and admin calls are never shed.
   */
  overload: z
    .strictObject({
      /** 0 turns shedding off. */
      shedLagMs: z.number().int().min(0).max(60_000).default(1000),
      /** How often the event-loop delay is sampled. */
      sampleMs: z.number().int().min(50).max(10_000).default(500),
    })
    .prefault({}),
  /** Deadline applied when a client sets none. */
  defaultDeadlineMs: z.number().int().min(1).default(30_000),
  /** The longest deadline a call may have, whatever the client asks. */
  maxDeadlineMs: z.number().int().min(1).default(300_000),
  shutdownGraceMs: z.number().int().min(0).default(10_000),
  /**
   * Gateway processes sharing `listen.grpc` (ADR-0028): `auto` = the machine's cores; 1 = one
   * process, no supervisor. `--workers` and `PRISM_WORKERS` override. Above 1 the port must be
   * fixed, and no namespace may use state that lives in one process: a `memory` backend or
   * `limits.rps` / `principal_rps` / `concurrency`.
   */
  workers: z.union([z.number().int().min(1).max(256), z.literal("auto")]).default(1),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type KeyValueSettings = GatewayConfig["keyvalue"];
export type TimeSeriesSettings = GatewayConfig["timeseries"];
export type GraphSettings = GatewayConfig["graph"];
export type ShadowConfigSettings = GatewayConfig["shadow"];
export type ConfigStoreSettings = GatewayConfig["configStore"];
export type TracingSettings = GatewayConfig["tracing"];
