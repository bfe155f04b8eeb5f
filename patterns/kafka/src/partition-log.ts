import type { Kafka } from "kafkajs";

/**
 * Reads one partition by offsets, without a consumer group. kafkajs 2.2 has no public
 * `assign()`: its consumer always joins a group (a join and sync per read or tail, and a group
 * left in the broker's offsets topic). So we fetch with the client's own cluster object — the one
 * its consumer uses — reached through the client's private factory. This file is the only place
 * that touches kafkajs internals; the few methods we call are declared below (kafkajs is pinned to
 * the stack's 2.2.x, which is in maintenance), and `openPartitionLog` fails at once when they are
 * missing. ADR-0012 has the why.
 */

/** One stored message as a fetch decodes it. Offsets and timestamps are decimal strings. */
export interface LogRecord {
  offset: string;
  /** The broker's append time (topics use `message.timestamp.type=LogAppendTime`), epoch ms. */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | Buffer[] | string | undefined>;
  isControlRecord?: boolean;
}

interface FetchedPartition {
  partition: number;
  highWatermark: string;
  messages: LogRecord[];
}

interface ClusterBroker {
  fetch(request: {
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    isolationLevel: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: FetchedPartition[] }[] }>;
}

interface OffsetQuery {
  topic: string;
  partitions: { partition: number }[];
  fromBeginning?: boolean;
  fromTimestamp?: number;
}

/** The part of kafkajs's `Cluster` we use. */
interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number }[];
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(query: { nodeId: string }): Promise<ClusterBroker>;
  fetchTopicsOffset(topics: OffsetQuery[]): Promise<{ partitions: { offset: string }[] }[]>;
}

type CreateCluster = (options: {
  metadataMaxAge: number;
  allowAutoTopicCreation: boolean;
  maxInFlightRequests: null;
  isolationLevel: number;
}) => Cluster;

const READ_COMMITTED = 1;
const METADATA_MAX_AGE_MS = 60_000;

/** Offsets of one partition: first stored, next to be written, or the first at a time. */
export type OffsetAt = "earliest" | "latest" | { timestampMs: number };

/**
 * Offset reads and fetches on the partitions of topics. Metadata is loaded per topic on first use.
 *
 * @example
 * const log = openPartitionLog(kafka);
 * const batch = await log.fetch("prism.demo-ts", 2, 0n, { maxBytes: 1 << 20, maxWaitMs: 0 });
 */
export class PartitionLog {
  private connecting: Promise<void> | undefined;
  private lookups: Promise<unknown> = Promise.resolve();
  private readonly firstFetch = new WeakMap<ClusterBroker, Promise<unknown>>();

  constructor(private readonly cluster: Cluster) {}

  /** The partition count of `topic`, or undefined when it does not exist. */
  async partitionCount(topic: string): Promise<number | undefined> {
    await this.connected();
    try {
      await this.cluster.addTargetTopic(topic);
    } catch (error) {
      if ((error as { type?: unknown }).type === "UNKNOWN_TOPIC_OR_PARTITION") return undefined;
      throw error;
    }
    const partitions = this.cluster.findTopicPartitionMetadata(topic);
    return partitions.length > 0 ? partitions.length : undefined;
  }

  /**
   * The offset of a partition at `at`. For a time: the first offset whose timestamp is at or after
   * it, or the next offset to be written when there is none.
   */
  async offset(topic: string, partition: number, at: OffsetAt): Promise<bigint> {
    await this.connected();
    const query: OffsetQuery = { topic, partitions: [{ partition }] };
    if (at === "earliest") query.fromBeginning = true;
    else if (at === "latest") query.fromBeginning = false;
    // Timestamps -1 and -2 mean latest and earliest to the broker: clamp real times above them.
    else if (at.timestampMs <= 0) query.fromBeginning = true;
    else query.fromTimestamp = at.timestampMs;
    const [result] = await this.withFreshMetadata(topic, async () => {
      await this.leader(topic, partition);
      return this.cluster.fetchTopicsOffset([query]);
    });
    const offset = BigInt(result?.partitions[0]?.offset ?? "-1");
    return offset >= 0n ? offset : this.offset(topic, partition, "latest");
  }

  /**
   * Records of a partition from `fromOffset` on: at least one record batch when there are any
   * (a fetch may return more than `maxBytes` to make progress), waiting up to `maxWaitMs` for one.
   * Control records and records before `fromOffset` (a fetch starts at a batch boundary) are dropped.
   */
  async fetch(
    topic: string,
    partition: number,
    fromOffset: bigint,
    { maxBytes, maxWaitMs }: { maxBytes: number; maxWaitMs: number },
  ): Promise<{ records: LogRecord[]; nextOffset: bigint; highWatermark: bigint }> {
    await this.connected();
    const response = await this.withFreshMetadata(topic, async () => {
      const broker = await this.leader(topic, partition);
      // kafkajs opens a broker's fetch connection on its first fetch, and opens it twice (leaking
      // one socket) when two fetches start at once: the first fetch of a broker goes alone.
      const first = this.firstFetch.get(broker);
      if (first) await first.catch(() => undefined);
      const fetching = broker.fetch({
        maxWaitTime: maxWaitMs,
        minBytes: 1,
        maxBytes,
        isolationLevel: READ_COMMITTED,
        topics: [{ topic, partitions: [{ partition, fetchOffset: fromOffset.toString(), maxBytes }] }],
      });
      if (!first) {
        this.firstFetch.set(broker, fetching);
        fetching.catch(() => this.firstFetch.delete(broker));
      }
      return fetching;
    });
    const data = response.responses[0]?.partitions.find((p) => p.partition === partition);
    const highWatermark = BigInt(data?.highWatermark ?? "0");
    const raw = data?.messages ?? [];
    let nextOffset = fromOffset;
    const records: LogRecord[] = [];
    for (const record of raw) {
      const offset = BigInt(record.offset);
      if (offset < fromOffset) continue;
      nextOffset = offset + 1n;
      if (!record.isControlRecord) records.push(record);
    }
    return { records, nextOffset, highWatermark };
  }

  async close(): Promise<void> {
    this.connecting = undefined;
    await this.cluster.disconnect().catch(() => undefined);
  }

  /**
   * The partition's leader, connected. Lookups run one at a time: kafkajs connects a broker twice
   * when two calls find it unconnected at once, and leaks the first socket.
   */
  private leader(topic: string, partition: number): Promise<ClusterBroker> {
    const lookup = this.lookups.then(() => {
      const leaders = this.cluster.findLeaderForPartitions(topic, [partition]);
      const nodeId = Object.keys(leaders)[0];
      if (nodeId === undefined) throw Object.assign(new Error("no leader"), { type: "LEADER_NOT_AVAILABLE" });
      return this.cluster.findBroker({ nodeId });
    });
    this.lookups = lookup.catch(() => undefined);
    return lookup;
  }

  private async connected(): Promise<void> {
    if (this.cluster.isConnected()) return;
    this.connecting ??= this.cluster.connect().finally(() => {
      this.connecting = undefined;
    });
    await this.connecting;
  }

  /**
   * Runs `call`; when the partition's leader moved (or a topic just created has none yet),
   * refreshes metadata and tries again, a few times with a short backoff.
   */
  private async withFreshMetadata<T>(topic: string, call: () => Promise<T>): Promise<T> {
    await this.cluster.addTargetTopic(topic);
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!isStaleMetadata(error) || attempt >= STALE_METADATA_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
        await this.cluster.refreshMetadata();
      }
    }
  }
}

const STALE_METADATA_ATTEMPTS = 6;

const STALE_METADATA = new Set([
  "NOT_LEADER_FOR_PARTITION",
  "NOT_LEADER_OR_FOLLOWER",
  "LEADER_NOT_AVAILABLE",
  "FENCED_LEADER_EPOCH",
  "UNKNOWN_LEADER_EPOCH",
]);

function isStaleMetadata(error: unknown): boolean {
  const { type, name } = (error ?? {}) as { type?: unknown; name?: unknown };
  return (typeof type === "string" && STALE_METADATA.has(type)) || name === "KafkaJSBrokerNotFound";
}

/**
 * A {@link PartitionLog} on the client's own cluster factory (its brokers, TLS, SASL, timeouts,
 * retry and logger).
 */
export function openPartitionLog(kafka: Kafka): PartitionLog {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === "private:Kafka:createCluster",
  );
  const create = symbol ? (kafka as unknown as Record<symbol, unknown>)[symbol] : undefined;
  if (typeof create !== "function") {
    throw new Error("this kafkajs version has no cluster factory; the kafka backend needs kafkajs 2.2");
  }
  const cluster = (create as CreateCluster)({
    metadataMaxAge: METADATA_MAX_AGE_MS,
    allowAutoTopicCreation: false,
    maxInFlightRequests: null,
    isolationLevel: READ_COMMITTED,
  });
  for (const method of [
    "connect",
    "addTargetTopic",
    "findLeaderForPartitions",
    "findBroker",
    "fetchTopicsOffset",
  ]) {
    if (typeof (cluster as unknown as Record<string, unknown>)[method] !== "function") {
      throw new Error(`kafkajs's cluster lacks ${method}; the kafka backend needs kafkajs 2.2`);
    }
  }
  return new PartitionLog(cluster);
}
