import { OptionReader } from "@prism/core";

/** The `neptune` backend's options after validation, with defaults filled in. */
export interface NeptuneOptions {
  /** `ws://` or `wss://` Gremlin endpoint (`…/gremlin`), or `env:NAME` / `file:/path` holding it. */
  url: string;
  /**
   * Starts every vertex and edge id (`<prefix>:<namespace>:…`), is the Gremlin label of every
   * vertex and names the bookkeeping properties (`<prefix>_ns`, …), so several gateways (or test
   * runs) can share one graph without seeing each other's data.
   */
  prefix: string;
  /** Wire format: GraphBinary (default) or GraphSON 3. Neptune and Gremlin Server speak both. */
  serializer: "graphbinary" | "graphson3";
  /** Bound of opening the WebSocket. */
  connectTimeoutMs: number;
  /** Bound of one traversal, also sent as the server's `evaluationTimeout`. */
  requestTimeoutMs: number;
  /** Nodes or edges written by one traversal (one request; one transaction on Neptune). */
  writeBatchSize: number;
  /**
   * Writes one at a time and never beside a read (default true): Gremlin Server's TinkerGraph
   * fails under concurrent mutation. A transactional Neptune endpoint can set it false.
   */
  exclusiveWrites: boolean;
  /** PEM file of extra CA certificates trusted for `wss://` (a private CA); absent = system CAs. */
  caFile: string | undefined;
}

const KNOWN = [
  "url",
  "prefix",
  "serializer",
  "connectTimeoutMs",
  "requestTimeoutMs",
  "writeBatchSize",
  "exclusiveWrites",
  "caFile",
  "iamAuth",
];

// No `:` (it ends the prefix inside ids) and no `_` (it ends it inside bookkeeping keys).
const PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9]{0,31}$/;
const URL_PATTERN = /^wss?:\/\/[^\s/]+(\/\S*)?$/;
const SERIALIZERS = ["graphbinary", "graphson3"] as const;

/**
 * Reads and checks the options, collecting every problem at once. Problems never quote `url`,
 * which may come from a secret.
 *
 * @example const { options, problems } = readNeptuneOptions({ url: "ws://127.0.0.1:8182/gremlin" })
 */
export function readNeptuneOptions(raw: Record<string, unknown>): {
  options: NeptuneOptions;
  problems: string[];
} {
  const reader = new OptionReader(raw).only(...KNOWN);
  const url = reader.string("url");
  if (url && !url.startsWith("env:") && !url.startsWith("file:") && !isGremlinUrl(url)) {
    reader.problems.push("url: must be a ws:// or wss:// URL, or env:/file:");
  }
  const prefix = reader.string("prefix", "prism");
  if (!PREFIX_PATTERN.test(prefix)) {
    reader.problems.push("prefix: must be a letter then up to 31 of A-Z, a-z and 0-9");
  }
  const serializer = reader.string("serializer", "graphbinary");
  if (!(SERIALIZERS as readonly string[]).includes(serializer)) {
    reader.problems.push(`serializer: must be one of ${SERIALIZERS.join(", ")}`);
  }
  const caFile = raw.caFile === undefined ? undefined : reader.string("caFile");
  if (raw.exclusiveWrites !== undefined && typeof raw.exclusiveWrites !== "boolean") {
    reader.problems.push("exclusiveWrites: must be true or false");
  }
  if (raw.iamAuth !== undefined) {
    // Neptune IAM auth signs the WebSocket handshake with SigV4; see ADR 0015 for what it needs.
    reader.problems.push("iamAuth: IAM (SigV4) authentication is not supported yet; see ADR 0015");
  }
  const options: NeptuneOptions = {
    url,
    prefix,
    serializer: serializer === "graphson3" ? "graphson3" : "graphbinary",
    connectTimeoutMs: reader.integer("connectTimeoutMs", 3000, 100, 60_000),
    requestTimeoutMs: reader.integer("requestTimeoutMs", 10_000, 100, 600_000),
    writeBatchSize: reader.integer("writeBatchSize", 100, 1, 1000),
    exclusiveWrites: raw.exclusiveWrites !== false,
    caFile,
  };
  return { options: Object.freeze(options), problems: reader.problems };
}

/** True when `url` is a `ws://` or `wss://` URL. */
export function isGremlinUrl(url: string): boolean {
  return URL_PATTERN.test(url);
}
