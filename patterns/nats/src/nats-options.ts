import { OptionReader } from "@prism/core";

/** The `nats` backend's options after validation, with defaults filled in. */
export interface NatsOptions {
  /** Server URL(s), or `env:NAME` / `file:/path` holding them. May carry credentials. */
  url: string;
  /** Buckets are named `<bucketPrefix>_<namespace>`. */
  bucketPrefix: string;
  /** JetStream replicas of each bucket created (1–5). */
  replicas: number;
  /** Bound of one connection attempt. */
  connectTimeoutMs: number;
  /** Bound of one JetStream request, below any caller deadline. */
  requestTimeoutMs: number;
  /** Largest item value stored in one KV entry; the gateway chunks larger values. */
  maxValueBytes: number;
}

const KNOWN = ["url", "bucketPrefix", "replicas", "connectTimeoutMs", "requestTimeoutMs", "maxValueBytes"];

// No `_` in the prefix: it separates prefix, namespace and the `_idem` suffix, so bucket names of
// different namespaces (and of data and idempotency markers) can never collide.
const PREFIX_PATTERN = /^[A-Za-z0-9-]{1,32}$/;
const SERVER_PATTERN = /^((nats|tls):\/\/)?[^\s/]+$/;

/**
 * Reads and checks the options, collecting every problem at once. Problems never quote `url`,
 * which may hold credentials.
 *
 * @example const { options, problems } = readNatsOptions({ url: "nats://127.0.0.1:4222" })
 */
export function readNatsOptions(raw: Record<string, unknown>): { options: NatsOptions; problems: string[] } {
  const reader = new OptionReader(raw).only(...KNOWN);
  const url = reader.string("url");
  if (url && !url.startsWith("env:") && !url.startsWith("file:") && !isServerUrl(url)) {
    reader.problems.push("url: must be nats://host:port (or tls://), comma-separated, or env:/file:");
  }
  const bucketPrefix = reader.string("bucketPrefix", "prism");
  if (!PREFIX_PATTERN.test(bucketPrefix)) {
    reader.problems.push("bucketPrefix: must be 1 to 32 of A-Z, a-z, 0-9 and -");
  }
  const options: NatsOptions = {
    url,
    bucketPrefix,
    replicas: reader.integer("replicas", 1, 1, 5),
    connectTimeoutMs: reader.integer("connectTimeoutMs", 3000, 100, 60_000),
    requestTimeoutMs: reader.integer("requestTimeoutMs", 5000, 100, 60_000),
    // NATS caps a message at 64 MiB (max_payload); 1 KiB keeps chunk manifests whole.
    maxValueBytes: reader.integer("maxValueBytes", 1024 * 1024, 1024, 64 * 1024 * 1024),
  };
  return { options: Object.freeze(options), problems: reader.problems };
}

/** True when `url` is one or more comma-separated `nats://` / `tls://` server addresses. */
export function isServerUrl(url: string): boolean {
  return url.split(",").every((server) => {
    const trimmed = server.trim();
    if (!SERVER_PATTERN.test(trimmed)) return false;
    return URL.canParse(trimmed.includes("://") ? trimmed : `nats://${trimmed}`);
  });
}

/** Server URLs with any credentials lifted out, as the NATS client wants them. */
export interface ServerAddress {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
}

/**
 * Splits `nats://user:pass@host:port` (or `nats://token@host`) into servers and credentials: the
 * client authenticates only with explicit options and ignores credentials inside URLs.
 *
 * @example parseServerUrl("nats://app:s3cret@10.0.0.1:4222") // { servers: ["nats://10.0.0.1:4222"], user: "app", pass: "s3cret" }
 */
export function parseServerUrl(url: string): ServerAddress {
  const address: ServerAddress = { servers: [] };
  for (const entry of url.split(",")) {
    const trimmed = entry.trim();
    const parsed = new URL(trimmed.includes("://") ? trimmed : `nats://${trimmed}`);
    if (parsed.username && address.user === undefined && address.token === undefined) {
      const name = decodeURIComponent(parsed.username);
      if (parsed.password) {
        address.user = name;
        address.pass = decodeURIComponent(parsed.password);
      } else {
        address.token = name;
      }
    }
    address.servers.push(`${parsed.protocol}//${parsed.host}`);
  }
  return address;
}
