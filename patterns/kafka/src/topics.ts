import { createHash } from "node:crypto";
import type { TsNamespaceSettings } from "@prism/core";
import { Partitioners, type PartitionMetadata } from "kafkajs";

/** Kafka's limit on topic names. */
const MAX_TOPIC_LENGTH = 249;

/**
 * The topic of a namespace: `<prefix>.<namespace>`. Namespace names are `[a-z0-9-]` in the
 * gateway; any other character is escaped as `_` plus its UTF-8 bytes in hex, so every name maps
 * to a distinct legal topic (`[A-Za-z0-9._-]`). Names too long for Kafka keep a prefix and a hash.
 *
 * @example topicName("prism", "demo-ts") // "prism.demo-ts"
 */
export function topicName(prefix: string, namespace: string): string {
  let escaped = "";
  for (const char of namespace) {
    if (/^[a-z0-9-]$/.test(char)) escaped += char;
    else
      escaped += [...Buffer.from(char, "utf8")]
        .map((byte) => `_${byte.toString(16).padStart(2, "0")}`)
        .join("");
  }
  const name = `${prefix}.${escaped}`;
  if (name.length <= MAX_TOPIC_LENGTH) return name;
  const digest = createHash("sha256").update(namespace).digest("hex").slice(0, 32);
  return `${name.slice(0, MAX_TOPIC_LENGTH - 34)}_h${digest}`;
}

// kafkajs's default (Java-compatible murmur2) partitioner, so a series lands where any Kafka
// client producing by key would put it.
const defaultPartitioner = Partitioners.DefaultPartitioner();

/**
 * The partition that holds a series: the one kafkajs's default partitioner picks for the series
 * id as message key. Writes name this partition explicitly, so reads and writes always agree.
 *
 * @example partitionFor("sensor-1", 3) // 0, 1 or 2, the same on every call
 */
export function partitionFor(seriesId: string, partitionCount: number): number {
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: partitionCount }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  return defaultPartitioner({
    topic: "",
    partitionMetadata,
    message: { key: Buffer.from(seriesId, "utf8"), value: null },
  });
}

/**
 * The configs every topic of ours carries. `retention.ms` covers the namespace's retention plus
 * the accept-future window and clock allowance: an event is appended up to that long before its
 * event time, and Kafka deletes by append time. Segments roll often enough for deletion to follow.
 */
export function topicConfigs(
  settings: TsNamespaceSettings,
  {
    clockSkewMs,
    maxMessageBytes,
    replicationFactor,
  }: { clockSkewMs: number; maxMessageBytes: number; replicationFactor: number },
): Record<string, string> {
  const retentionMs = settings.retentionMs + settings.acceptFutureMs + clockSkewMs;
  const segmentMs = Math.min(24 * 3_600_000, Math.max(600_000, Math.floor(retentionMs / 4)));
  return {
    "cleanup.policy": "delete",
    "message.timestamp.type": "LogAppendTime",
    "retention.ms": String(retentionMs),
    "segment.ms": String(segmentMs),
    "max.message.bytes": String(maxMessageBytes),
    // acks=-1 waits for every in-sync replica; with three or more, at least two must be in sync.
    "min.insync.replicas": replicationFactor >= 3 ? "2" : "1",
  };
}
