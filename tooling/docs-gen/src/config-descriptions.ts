/**
 * Descriptions of the config keys whose schema has no JSDoc comment of its own (most are in
 * `gateway/src/auth/auth-config.ts` or are self-explanatory limits). A key documented in the
 * schema must not be listed here: `docs-gen.test.ts` fails on a stale or duplicate entry, and on
 * a key described nowhere. Keys are dotted paths without list or map markers.
 */
export const CONFIG_DESCRIPTIONS: Readonly<Record<string, string>> = {
  listen: "Where the gateway serves gRPC (KeyValue, TimeSeries, Graph, Admin, health, reflection).",
  "listen.grpc":
    "The gRPC listener. `PRISM_GRPC_ADDR` overrides. A non-loopback address needs `auth.mode` oidc or mtls.",
  "metrics.enabled": "Serve the Prometheus endpoint.",
  "metrics.listen": "Where `GET /metrics` is served (plain HTTP, no authentication of its own).",
  "admin.listen": "Where the admin web UI is served.",
  "admin.oidc":
    "How the admin web UI signs operators in at `auth.oidc.issuer`; required with `auth.mode: oidc`.",
  "admin.oidc.scopes": "Scopes the UI asks for at sign-in.",
  "configStore.type":
    "`sqlite`: one host (a file under `dataDir`). `postgres`: any number of gateways (LISTEN/NOTIFY, ADR-0007).",
  "configStore.path":
    "The store's SQLite file, joined under `dataDir` (an absolute path is joined under it too).",
  "configStore.pollIntervalMs": "How often each gateway looks for namespaces applied by another process.",
  "configStore.url":
    "The PostgreSQL database; give the password through `env:NAME` or `file:/path`, never inline.",
  "auth.mode":
    "`none`: everyone is `anonymous` and the loopback operator is the admin (loopback listeners only). `oidc`: a JWT bearer token on every call. `mtls`: the client certificate (CN → subject, each OU → a group); needs `tls.clientCaFile`.",
  "tls.certFile": "The listener's certificate chain (PEM).",
  "tls.keyFile": "The listener's private key (PEM).",
  "tls.clientCaFile":
    "CA bundle (PEM) client certificates must chain to; makes them required. Required by `auth.mode: mtls`.",
  "pii.keyring": "Where the key-encryption keys come from: a file or an environment variable.",
  "pii.keyring.file": "Keyring file: mode 0600 or stricter.",
  "pii.keyring.env": "Environment variable holding the keyring.",
  backends:
    "The backend instances namespaces may use, by name. Each entry has a `type` and that type's options (below); options holding secrets take `env:NAME` or `file:/path`.",
  "backends.type": "The backend type: which driver opens it.",
  "namespaces.pattern": "The data model the namespace serves.",
  "namespaces.backend": "The backend instance (a name under `backends`) that holds the data: the primary.",
  "namespaces.schema":
    "The protobuf message stored as values (KeyValue values, TimeSeries payloads); registered with `prismctl schema register`. Drives PII masking, encryption and audit.",
  "namespaces.shadow":
    "A migration in progress: writes are mirrored to this second backend. Changed with `prismctl shadow …` on applied namespaces.",
  "namespaces.shadow.backend":
    "The shadow backend instance; must differ from `backend` and serve the same pattern.",
  "namespaces.shadow.sample_rate":
    "Fraction of reads compared (`shadow-read`) or answered from the shadow (`read-shadow`).",
  "namespaces.access":
    "Who may do what, as `group:NAME`, `user:SUBJECT` or `service:SUBJECT`. Without it, every authenticated caller may read and write, and PII is masked for everyone.",
  "namespaces.access.read": "May read (Get, Scan, Read, Tail, GetNodes, Neighbors, Traverse, ShortestPath).",
  "namespaces.access.write": "May write and delete.",
  "namespaces.access.pii": "May read PII fields in clear; everyone else reads them masked.",
  "namespaces.limits": "Per-namespace limits.",
  "namespaces.limits.max_value_bytes":
    "Largest KeyValue value or TimeSeries payload; defaults to `keyvalue.maxValueBytes` / `timeseries.maxPayloadBytes`.",
  "namespaces.limits.rps":
    "Calls per second on each gateway (a token bucket per process: N gateways admit N × rps); more get RESOURCE_EXHAUSTED (`RATE_LIMITED`).",
  "namespaces.accept_window.past": "How old an event may be; default `timeseries.defaultAcceptPast`.",
  "namespaces.accept_window.future":
    "How far ahead of the gateway's clock an event may be; default `timeseries.defaultAcceptFuture`.",
  keyvalue: "KeyValue limits and chunking, for every KeyValue namespace.",
  "keyvalue.maxKeyBytes": "Largest item key.",
  "keyvalue.maxIdBytes": "Largest record id.",
  "keyvalue.maxItemsPerRequest": "Items in one Put, keys in one Get or Delete, operations in one Mutate.",
  "keyvalue.defaultPageBytes": "Get page size in bytes when the request sets none.",
  "keyvalue.maxPageBytes": "Largest Get page in bytes, whatever the request asks.",
  "keyvalue.defaultPageItems": "Get page size in items when the request sets none.",
  "keyvalue.maxPageItems": "Largest Get page in items.",
  timeseries: "TimeSeries limits and defaults, for every TimeSeries namespace.",
  "timeseries.maxSeriesIdBytes": "Largest series id.",
  "timeseries.maxEventIdBytes": "Largest event id.",
  "timeseries.maxEventsPerWrite": "Events in one Write batch.",
  "timeseries.maxTagsPerEvent": "Tags on one event.",
  "timeseries.defaultPageBytes": "Read page size in bytes when the request sets none.",
  "timeseries.maxPageBytes": "Largest Read page in bytes.",
  "timeseries.defaultPageEvents": "Read page size in events when the request sets none.",
  "timeseries.maxPageEvents": "Largest Read page in events.",
  "timeseries.defaultAcceptFuture":
    "How far ahead of the gateway's clock an event may be, for a namespace that sets no accept window.",
  graph: "Graph limits, for every Graph namespace.",
  "graph.maxNodeIdBytes": "Largest node id.",
  "graph.maxLabelBytes": "Largest node or edge label.",
  "graph.maxPropertiesPerItem": "Properties on one node or edge.",
  "graph.maxPropertyNameBytes": "Largest property name.",
  "graph.defaultNeighborsPage": "Neighbors page size when the request sets none.",
  "graph.maxNeighborsPage": "Largest Neighbors page.",
  "graph.defaultTraverseLimit": "Nodes a Traverse returns when the request sets no limit.",
  "graph.maxTraverseLimit": "Most nodes one Traverse returns.",
  "shadow.queueMaxBytes":
    "Bytes of writes waiting for the shadow per namespace; more are dropped (and counted).",
  "shadow.backfillBytesPerSecond": "Backfill throttle in bytes per second when StartBackfill sets none.",
  "tracing.enabled": "Export traces.",
  "tracing.samplingRatio":
    "Fraction of calls traced when the client sends no `traceparent` (a client's sampling decision is kept).",
  shutdownGraceMs:
    "On SIGTERM or SIGINT: how long calls in flight may finish, and mirrored writes may reach their shadow, before the gateway exits.",
  logLevel: "Log level (pino; JSON lines on stdout). `PRISM_LOG_LEVEL` overrides.",
};
