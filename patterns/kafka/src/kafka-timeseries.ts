import {
  eventKey,
  matchesTags,
  PrismError,
  type TimeSeriesBackend,
  type TimeSeriesCapabilities,
  type TsCallOptions,
  type TsEvent,
  type TsNamespaceSettings,
  type TsReadOptions,
  type TsScanOptions,
  type TsScanResult,
  type TsTailOptions,
  type TsWriteOptions,
  throwIfAborted,
} from "@prism/core";
import type { Admin, Kafka, Producer } from "kafkajs";
import { connectOnce, raceSignal } from "./client-calls.js";
import { toPrismError } from "./errors.js";
import { type EventMessage, encodeEvent, messageBytes } from "./event-encoding.js";
import type { KafkaOptions } from "./kafka-options.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { scanNamespace } from "./namespace-scan.js";
import { openPartitionLog, type PartitionLog } from "./partition-log.js";
import {
  isAfterCursor,
  PageCollector,
  pageRange,
  ResumeOffsets,
  resumeKey,
  takeEventPage,
} from "./read-page.js";
import { appendWindow, boundsFor, type SeriesLocation, scanSeries } from "./series-scan.js";
import { StoredKeyCache } from "./stored-keys.js";
import { tailSeries } from "./tail.js";
import { partitionFor, topicConfigs, topicName } from "./topics.js";

/**
 * TimeSeries on Kafka: a topic per namespace, a series' events on the one partition its id hashes
 * to (kafkajs's default partitioner), one message per event. Reads scan the partition between the
 * offsets whose append times can hold the requested event times (ADR-0012); writes check for
 * stored duplicates under a per-series lock, then produce with acks from all in-sync replicas.
 */
export class KafkaTimeSeries implements TimeSeriesBackend {
  readonly capabilities: TimeSeriesCapabilities = Object.freeze({
    liveTail: true,
    nativeRetention: true,
    arrivalIndexed: true,
  });

  private readonly log: PartitionLog;
  private readonly locks = new KeyedMutex();
  private readonly storedKeys = new StoredKeyCache();
  private readonly resumeOffsets = new ResumeOffsets();
  private readonly partitionCounts = new Map<string, number>();
  private readonly openTails = new Set<PartitionLog>();
  private adminClient: Promise<Admin> | undefined;
  private producerClient: Promise<Producer> | undefined;
  private currentProducer: Producer | undefined;
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly backendName: string,
    private readonly options: KafkaOptions,
  ) {
    this.log = openPartitionLog(kafka);
  }

  write(
    namespace: string,
    seriesId: string,
    events: TsEvent[],
    { settings, signal }: TsWriteOptions,
  ): Promise<{ written: number; duplicates: number }> {
    // The check-then-append runs to its end even when the caller gives up, so the next writer of
    // the series (who waits for the lock) sees whatever it appended.
    const work = this.locks.run(`${namespace}\u0000${seriesId}`, async () => {
      throwIfAborted(signal);
      if (events.length === 0) return { written: 0, duplicates: 0 };
      const location = await this.locate(namespace, seriesId, settings);
      const fresh = new Map<string, TsEvent>();
      for (const event of events) if (!fresh.has(eventKey(event))) fresh.set(eventKey(event), event);
      await this.dropStored(location, fresh, settings, signal);
      throwIfAborted(signal);
      const messages = [...fresh.values()].map((event) => encodeEvent(seriesId, event));
      await this.produce(location, messages);
      return { written: messages.length, duplicates: events.length - messages.length };
    });
    return this.call(work, signal);
  }

  read(
    namespace: string,
    seriesId: string,
    options: TsReadOptions,
  ): Promise<{ events: TsEvent[]; more: boolean }> {
    return this.call(this.readPage(namespace, seriesId, options, this.log), options.signal);
  }

  tail(namespace: string, seriesId: string, options: TsTailOptions): AsyncIterable<TsEvent[]> {
    return tailSeries(
      {
        backendName: this.backendName,
        options: this.options,
        locate: () => this.locate(namespace, seriesId, options.settings),
        // A tail long-polls its partition: it gets connections of its own, so its waiting fetch
        // never queues the reads and writes of other calls behind it.
        openLog: () => {
          const log = openPartitionLog(this.kafka);
          this.openTails.add(log);
          return log;
        },
        closeLog: async (log) => {
          this.openTails.delete(log);
          await log.close();
        },
        readPage: (log, page, endOffset) => this.readPage(namespace, seriesId, page, log, endOffset),
      },
      options,
    );
  }

  retain(namespace: string, { settings, signal }: TsCallOptions): Promise<{ removed?: number }> {
    const work = (async () => {
      throwIfAborted(signal);
      const topic = topicName(this.options.topicPrefix, namespace);
      const wanted = topicConfigs(settings, this.options);
      if (await this.createTopic(topic, settings)) return {};
      const admin = await this.admin();
      const described = await admin.describeConfigs({
        resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: Object.keys(wanted) }],
        includeSynonyms: false,
      });
      const current = new Map(
        described.resources[0]?.configEntries.map((entry) => [entry.configName, entry.configValue]) ?? [],
      );
      if (Object.entries(wanted).every(([name, value]) => current.get(name) === value)) return {};
      throwIfAborted(signal);
      // AlterConfigs replaces a topic's whole set of overrides: send all of ours every time.
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: TOPIC_RESOURCE,
            name: topic,
            configEntries: Object.entries(wanted).map(([name, value]) => ({ name, value })),
          },
        ],
      });
      return {};
    })();
    return this.call(work, signal);
  }

  /** Partition after partition, in offset order, up to the ends recorded in the cursor (`namespace-scan.ts`). */
  scan(namespace: string, options: TsScanOptions): Promise<TsScanResult> {
    const work = (async () => {
      this.ensureOpen();
      return scanNamespace({ log: this.log, options: this.options }, namespace, options);
    })();
    return this.call(work, options.signal);
  }

  /** A broker round trip (cluster metadata) for the health probe. */
  async probe(signal: AbortSignal): Promise<void> {
    await this.call(
      this.admin().then((admin) => admin.describeCluster()),
      signal,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const clients: Promise<unknown>[] = [this.log.close()];
    for (const log of this.openTails) clients.push(log.close());
    if (this.producerClient) clients.push(this.producerClient.then((producer) => producer.disconnect()));
    if (this.adminClient) clients.push(this.adminClient.then((admin) => admin.disconnect()));
    await Promise.allSettled(clients);
  }

  private async readPage(
    namespace: string,
    seriesId: string,
    options: TsReadOptions,
    log: PartitionLog,
    endOffset?: bigint,
  ): Promise<{ events: TsEvent[]; more: boolean }> {
    throwIfAborted(options.signal);
    const location = await this.locate(namespace, seriesId);
    const { loUs, hiUs } = pageRange(options);
    if (!location || loUs >= hiUs) return { events: [], more: false };
    const window = appendWindow(loUs, hiUs, options.settings, this.options.clockSkewMs);
    const bounds = await boundsFor(log, location, window, endOffset);
    const series = cacheId(location);
    const resume = options.after && this.resumeOffsets.get(resumeKey(series, options, options.after));
    if (resume !== undefined && resume > bounds.fromOffset) bounds.fromOffset = resume;
    const page = new PageCollector(options.descending, options.limitEvents + 1);
    const scan = { fetchBytes: this.options.fetchBytes, signal: options.signal };
    await scanSeries(log, location, bounds, scan, (event, _appendMs, offset) => {
      if (event.eventTimeUs < loUs || event.eventTimeUs >= hiUs) return;
      if (matchesTags(event, options.tagFilter) && isAfterCursor(event, options)) page.add(event, offset);
    });
    const result = takeEventPage(page.sorted(), options);
    const last = result.events.at(-1);
    if (result.more && last) {
      const offset = page.resumeOffset(result.events.length, bounds.toOffset);
      this.resumeOffsets.set(resumeKey(series, options, last), offset);
    }
    return result;
  }

  /**
   * Removes from `fresh` the events the series already stores (they count as duplicates): from
   * the cached identities plus what was appended since, or by scanning the batch's window.
   */
  private async dropStored(
    location: SeriesLocation,
    fresh: Map<string, TsEvent>,
    settings: TsNamespaceSettings,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let loUs: bigint | undefined;
    let hiUs: bigint | undefined;
    for (const { eventTimeUs } of fresh.values()) {
      if (loUs === undefined || eventTimeUs < loUs) loUs = eventTimeUs;
      if (hiUs === undefined || eventTimeUs >= hiUs) hiUs = eventTimeUs + 1n;
    }
    const scan = { fetchBytes: this.options.fetchBytes, signal };
    const series = cacheId(location);
    const cached = this.storedKeys.get(series);
    const latest = cached && (await this.log.offset(location.topic, location.partition, "latest"));
    // (A partition now shorter than the cache knows is a recreated topic: the cache is void.)
    if (cached && latest !== undefined && latest >= cached.throughOffset && loUs! >= cached.coveredFromUs) {
      const toOffset = latest;
      const bounds = { fromOffset: cached.throughOffset, toOffset };
      await scanSeries(this.log, location, bounds, scan, (event) => {
        this.storedKeys.add(cached, eventKey(event), event.eventTimeUs);
      });
      cached.throughOffset = toOffset;
      for (const key of fresh.keys()) if (cached.keys.has(key)) fresh.delete(key);
      return;
    }
    const window = appendWindow(loUs!, hiUs!, settings, this.options.clockSkewMs);
    const bounds = await boundsFor(this.log, location, window);
    const stored = new Map<string, bigint>();
    const complete = await scanSeries(this.log, location, bounds, scan, (event) => {
      if (event.eventTimeUs >= loUs!) stored.set(eventKey(event), event.eventTimeUs);
    });
    for (const key of stored.keys()) fresh.delete(key);
    // Complete = every event of the series with a time from loUs on, below toOffset, was seen.
    if (complete)
      this.storedKeys.set(series, { coveredFromUs: loUs!, throughOffset: bounds.toOffset, keys: stored });
  }

  /**
   * Appends in order, in produce requests of at most `maxBatchBytes`. A failed send discards the
   * producer: kafkajs keeps its sequence numbers after a failure, and the broker would take the
   * next batch under a reused sequence for a duplicate and drop it. A new producer gets a new id.
   */
  private async produce(location: SeriesLocation, messages: EventMessage[]): Promise<void> {
    let start = 0;
    while (start < messages.length) {
      let end = start + 1;
      let bytes = messageBytes(messages[start]!);
      while (end < messages.length && bytes + messageBytes(messages[end]!) <= this.options.maxBatchBytes) {
        bytes += messageBytes(messages[end]!);
        end++;
      }
      const producer = await this.producer();
      let appended: { baseOffset?: string }[];
      try {
        appended = await producer.send({
          topic: location.topic,
          acks: -1,
          timeout: this.options.requestTimeoutMs,
          messages: messages
            .slice(start, end)
            .map((message) => ({ ...message, partition: location.partition })),
        });
      } catch (error) {
        this.discardProducer(producer);
        throw error;
      }
      this.remember(location, messages.slice(start, end), appended[0]?.baseOffset);
      start = end;
    }
  }

  /**
   * Adds an appended chunk to the series' cached identities when it directly follows what the
   * cache covers (nobody appended to the partition in between); else the next write scans it.
   */
  private remember(location: SeriesLocation, messages: EventMessage[], baseOffset: string | undefined): void {
    const cached = this.storedKeys.get(cacheId(location));
    if (!cached || baseOffset === undefined || BigInt(baseOffset) !== cached.throughOffset) return;
    for (const message of messages) {
      const eventTimeUs = BigInt(message.headers.t!);
      this.storedKeys.add(cached, eventKey({ eventTimeUs, eventId: message.headers.id! }), eventTimeUs);
    }
    cached.throughOffset += BigInt(messages.length);
  }

  /** The series' topic and partition; creates the topic when `settings` is given and it is missing. */
  private async locate(namespace: string, seriesId: string): Promise<SeriesLocation | undefined>;
  private async locate(
    namespace: string,
    seriesId: string,
    settings: TsNamespaceSettings,
  ): Promise<SeriesLocation>;
  private async locate(
    namespace: string,
    seriesId: string,
    settings?: TsNamespaceSettings,
  ): Promise<SeriesLocation | undefined> {
    this.ensureOpen();
    const topic = topicName(this.options.topicPrefix, namespace);
    let count = this.partitionCounts.get(topic) ?? (await this.log.partitionCount(topic));
    if (count === undefined && settings) {
      await this.createTopic(topic, settings);
      for (let attempt = 0; count === undefined && attempt < 20; attempt++) {
        count = await this.log.partitionCount(topic);
        if (count === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (count === undefined) {
        throw new PrismError("Unavailable", `backend ${this.backendName} is unavailable`, {
          reason: "BACKEND_UNAVAILABLE",
          metadata: { backend: this.backendName },
        });
      }
    }
    if (count === undefined) return undefined;
    this.partitionCounts.set(topic, count);
    return { topic, partition: partitionFor(seriesId, count), key: Buffer.from(seriesId, "utf8") };
  }

  /** Creates the topic with our configs; false when it already existed. */
  private async createTopic(topic: string, settings: TsNamespaceSettings): Promise<boolean> {
    const admin = await this.admin();
    const configs = topicConfigs(settings, this.options);
    return admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: this.options.numPartitions,
          replicationFactor: this.options.replicationFactor,
          configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
        },
      ],
    });
  }

  private admin(): Promise<Admin> {
    this.ensureOpen();
    this.adminClient ??= connectOnce(this.kafka.admin({ retry: this.retry() }), () => {
      this.adminClient = undefined;
    });
    return this.adminClient;
  }

  private producer(): Promise<Producer> {
    this.ensureOpen();
    this.producerClient ??= connectOnce(
      this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // The idempotent producer retries forever by default; a call must fail while its
        // deadline still matters. A retry of the whole write is safe (duplicates are found).
        retry: this.retry(),
      }),
      () => {
        this.producerClient = undefined;
      },
    ).then((producer) => {
      this.currentProducer = producer;
      return producer;
    });
    return this.producerClient;
  }

  private discardProducer(producer: Producer): void {
    if (this.currentProducer === producer) {
      this.currentProducer = undefined;
      this.producerClient = undefined;
    }
    void producer.disconnect().catch(() => undefined);
  }

  private retry() {
    return { retries: Math.max(1, this.options.retries), initialRetryTime: 100, maxRetryTime: 2000 };
  }

  private ensureOpen(): void {
    if (this.closed) {
      throw new PrismError("Unavailable", `backend ${this.backendName} is closed`, {
        reason: "BACKEND_UNAVAILABLE",
        metadata: { backend: this.backendName },
      });
    }
  }

  /** Awaits `work` until `signal` fires; maps every failure to a PrismError. */
  private async call<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    try {
      return await raceSignal(work, signal);
    } catch (error) {
      throw toPrismError(error, this.backendName, signal);
    }
  }
}

/** A series' key in the stored-identity cache. */
function cacheId(location: SeriesLocation): string {
  return `${location.topic}\u0000${location.key.toString("utf8")}`;
}

/** kafkajs's ConfigResourceTypes.TOPIC. */
const TOPIC_RESOURCE = 2;
