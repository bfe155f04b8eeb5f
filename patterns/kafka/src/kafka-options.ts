import { OptionReader } from "@prism/core";

/** The `kafka` backend's options after validation, with defaults filled in. */
export interface KafkaOptions {
  /** Comma-separated `host:port` seed brokers, or `env:NAME` / `file:/path` holding them. */
  brokers: string;
  /** Topics are named `<topicPrefix>.<namespace>`. */
  topicPrefix: string;
  /** Partitions of each topic created. Never change it for an existing topic (a series would move). */
  numPartitions: number;
  /** Replicas of each topic created (1 for a single broker). */
  replicationFactor: number;
  /** Bound of one connection attempt. */
  connectTimeoutMs: number;
  /** Bound of one broker request, below any caller deadline. */
  requestTimeoutMs: number;
  /** Retries of a retriable failure (connection refused, leader moving) before the call fails. */
  retries: number;
  /**
   * Allowance for the distance between the gateway's clock at validation and the broker's append
   * time (clock skew plus the time a write waits before it is appended). Widens every scan.
   */
  clockSkewMs: number;
  /** Largest message the topics accept (`max.message.bytes`); bounds one event's payload and tags. */
  maxMessageBytes: number;
  /** Bytes of events sent in one produce request; larger writes are sent in several, in order. */
  maxBatchBytes: number;
  /** Bytes asked for in one fetch of a scan or a tail (the broker returns at least one record batch). */
  fetchBytes: number;
}

const KNOWN = [
  "brokers",
  "topicPrefix",
  "numPartitions",
  "replicationFactor",
  "connectTimeoutMs",
  "requestTimeoutMs",
  "retries",
  "clockSkewMs",
  "maxMessageBytes",
  "maxBatchBytes",
  "fetchBytes",
];

// No `.` in the prefix: it separates prefix and namespace, so topics of different namespaces
// never collide; no `_` either (escapes use it, and Kafka's metric names fold `.` into `_`).
const PREFIX_PATTERN = /^[A-Za-z0-9-]{1,64}$/;
const BROKER_PATTERN = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/;

/**
 * Reads and checks the options, collecting every problem at once. Problems never quote `brokers`,
 * which may come from a secret.
 *
 * @example const { options, problems } = readKafkaOptions({ brokers: "127.0.0.1:9092" })
 */
export function readKafkaOptions(raw: Record<string, unknown>): {
  options: KafkaOptions;
  problems: string[];
} {
  const reader = new OptionReader(raw).only(...KNOWN);
  const brokers = reader.string("brokers");
  if (brokers && !brokers.startsWith("env:") && !brokers.startsWith("file:") && !isBrokerList(brokers)) {
    reader.problems.push("brokers: must be host:port, comma-separated, or env:/file:");
  }
  const topicPrefix = reader.string("topicPrefix", "prism");
  if (!PREFIX_PATTERN.test(topicPrefix)) {
    reader.problems.push("topicPrefix: must be 1 to 64 of A-Z, a-z, 0-9 and -");
  }
  const options: KafkaOptions = {
    brokers,
    topicPrefix,
    numPartitions: reader.integer("numPartitions", 3, 1, 10_000),
    replicationFactor: reader.integer("replicationFactor", 1, 1, 16),
    connectTimeoutMs: reader.integer("connectTimeoutMs", 3000, 100, 60_000),
    requestTimeoutMs: reader.integer("requestTimeoutMs", 10_000, 100, 120_000),
    retries: reader.integer("retries", 3, 0, 20),
    clockSkewMs: reader.integer("clockSkewMs", 60_000, 0, 3_600_000),
    maxMessageBytes: reader.integer("maxMessageBytes", 8 << 20, 64 * 1024, 64 << 20),
    maxBatchBytes: reader.integer("maxBatchBytes", 1 << 20, 16 * 1024, 64 << 20),
    fetchBytes: reader.integer("fetchBytes", 1 << 20, 16 * 1024, 64 << 20),
  };
  return { options: Object.freeze(options), problems: reader.problems };
}

/** True when `brokers` is one or more comma-separated `host:port` addresses. */
export function isBrokerList(brokers: string): boolean {
  return parseBrokers(brokers).every((broker) => BROKER_PATTERN.test(broker));
}

/** The seed brokers of a `host:port,host:port` list. */
export function parseBrokers(brokers: string): string[] {
  return brokers.split(",").map((broker) => broker.trim());
}
