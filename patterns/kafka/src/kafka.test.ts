import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { type Backend, isPrismError, type TimeSeriesBackend, type TsEvent } from "@prism/core";
import { b, freshNamespace, timeSeriesConformance } from "@prism/core/conformance";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaDriver, partitionFor, topicName } from "./index.js";

const brokers = process.env.PRISM_TEST_KAFKA_BROKERS ?? "127.0.0.1:19092";
// A prefix of this run's own, so the topics it creates can be removed afterwards.
const topicPrefix = `prismtest-${randomBytes(4).toString("hex")}`;
const HOUR_MS = 3_600_000;
const SETTINGS = { retentionMs: 24 * HOUR_MS, acceptPastMs: HOUR_MS, acceptFutureMs: 10 * 60_000 };
const HOUR_US = 3_600_000_000n;
const nowUs = () => BigInt(Date.now()) * 1000n;
const ev = (eventTimeUs: bigint, eventId: string, tags: Record<string, string> = {}): TsEvent => ({
  eventTimeUs,
  eventId,
  payload: b(`payload-${eventId}`),
  tags,
});
const ids = (events: TsEvent[]) => events.map((e) => `${e.eventTimeUs}/${e.eventId}`);
const readAll = (startUs: bigint, endUs: bigint, settings = SETTINGS) => ({
  settings,
  startUs,
  endUs,
  descending: false,
  tagFilter: {},
  limitEvents: 100_000,
  limitBytes: 64 << 20,
});

const admin = () =>
  new Kafka({
    clientId: "prism-kafka-test",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
  }).admin();

/** Opens the backend on the test broker, failing (never skipping) with a hint when it is down. */
async function openKafka(): Promise<Backend> {
  const backend = await kafkaDriver.open({
    name: "kafka-test",
    options: { brokers, topicPrefix },
    dataDir: tmpdir(),
  });
  const report = await backend.health(AbortSignal.timeout(10_000));
  if (!report.ok) {
    await backend.close();
    throw new Error(
      `Kafka is not reachable at ${brokers} (${report.message}). Run \`pnpm stack up\`, ` +
        "or point PRISM_TEST_KAFKA_BROKERS at a broker.",
    );
  }
  return backend;
}

afterAll(async () => {
  const client = admin();
  await client.connect().catch(() => undefined);
  const topics = (await client.listTopics().catch(() => [])).filter((t) => t.startsWith(`${topicPrefix}.`));
  if (topics.length > 0) await client.deleteTopics({ topics }).catch(() => undefined);
  await client.disconnect();
});

it("reaches the Kafka test server", async () => {
  const backend = await openKafka();
  await backend.close();
});

timeSeriesConformance({ name: "kafka", open: openKafka });

describe("kafka backend", () => {
  let backend: Backend;
  let ts: TimeSeriesBackend;
  const client = admin();
  beforeAll(async () => {
    backend = await openKafka();
    ts = backend.timeseries!;
    await client.connect();
  });
  afterAll(async () => {
    await backend?.close();
    await client.disconnect();
  });

  async function topicConfig(ns: string): Promise<Map<string, string>> {
    const described = await client.describeConfigs({
      resources: [{ type: 2, name: topicName(topicPrefix, ns) }],
      includeSynonyms: false,
    });
    return new Map(described.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
  }

  it("declares live tail and native retention", () => {
    expect(ts.capabilities).toEqual({ liveTail: true, nativeRetention: true, arrivalIndexed: true });
  });

  it("creates a namespace's topic on first write with append-time timestamps and retention covering the accept window", async () => {
    const ns = freshNamespace();
    await ts.write(ns, "s", [ev(nowUs(), "a")], { settings: SETTINGS });
    const metadata = await client.fetchTopicMetadata({ topics: [topicName(topicPrefix, ns)] });
    expect(metadata.topics[0]!.partitions).toHaveLength(3);
    const config = await topicConfig(ns);
    expect(config.get("message.timestamp.type")).toBe("LogAppendTime");
    // retention + acceptFuture + the default clock allowance (60 s)
    expect(config.get("retention.ms")).toBe(String(24 * HOUR_MS + 10 * 60_000 + 60_000));
    expect(config.get("min.insync.replicas")).toBe("1");
  });

  it("retain sets retention.ms on the topic, creating it when missing, idempotently", async () => {
    const ns = freshNamespace();
    const settings = { ...SETTINGS, retentionMs: 2 * HOUR_MS };
    await ts.retain(ns, { settings });
    expect((await topicConfig(ns)).get("retention.ms")).toBe(String(2 * HOUR_MS + 10 * 60_000 + 60_000));
    const longer = { ...settings, retentionMs: 48 * HOUR_MS };
    await ts.retain(ns, { settings: longer });
    await ts.retain(ns, { settings: longer });
    const config = await topicConfig(ns);
    expect(config.get("retention.ms")).toBe(String(48 * HOUR_MS + 10 * 60_000 + 60_000));
    // AlterConfigs replaces every override: ours must all survive a change.
    expect(config.get("message.timestamp.type")).toBe("LogAppendTime");
  });

  it("keeps every event of a series on the one partition kafkajs's default partitioner picks for its id", async () => {
    const ns = freshNamespace();
    const series = Array.from({ length: 12 }, (_, i) => `series-${i}`);
    const base = nowUs() - 60_000_000n;
    const counts = new Map<number, number>();
    for (const [i, id] of series.entries()) {
      const events = Array.from({ length: i + 1 }, (_, j) => ev(base + BigInt(j), `e${j}`));
      await ts.write(ns, id, events, { settings: SETTINGS });
      const partition = partitionFor(id, 3);
      counts.set(partition, (counts.get(partition) ?? 0) + events.length);
    }
    const offsets = await client.fetchTopicOffsets(topicName(topicPrefix, ns));
    for (const { partition, high, low } of offsets) {
      expect(Number(high) - Number(low), `partition ${partition}`).toBe(counts.get(partition) ?? 0);
    }
    expect(counts.size).toBeGreaterThan(1);
    // A read sees exactly its series, though other series share its partition.
    for (const [i, id] of series.entries()) {
      const { events } = await ts.read(ns, id, readAll(base, base + 100n));
      expect(events).toHaveLength(i + 1);
    }
  });

  it("picks the partition a keyed produce with kafkajs's default partitioner picks", async () => {
    const topic = `${topicPrefix}.partitioner-check`;
    await client.createTopics({ topics: [{ topic, numPartitions: 5 }], waitForLeaders: true });
    const kafka = new Kafka({
      clientId: "prism-kafka-test",
      brokers: brokers.split(","),
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer();
    await producer.connect();
    try {
      for (const key of ["a", "sensor-1", "\u{1F600}-unicode", "x".repeat(300)]) {
        const [meta] = await producer.send({ topic, messages: [{ key, value: "v" }] });
        expect(meta!.partition, key).toBe(partitionFor(key, 5));
      }
    } finally {
      await producer.disconnect();
    }
  });

  it("reads a series written in many produce requests in order, through pages, both directions", async () => {
    const ns = freshNamespace();
    const base = nowUs() - 30_000_000n;
    // 3,000 events of 1 KiB: over the default 1 MiB per produce request, so several requests.
    const events = Array.from({ length: 3000 }, (_, i) => ({
      eventTimeUs: base + BigInt(2999 - i),
      eventId: `e${i % 7}`,
      payload: new Uint8Array(1024).fill(i % 251),
      tags: { parity: String(i % 2) },
    }));
    expect(await ts.write(ns, "big", events, { settings: SETTINGS })).toEqual({
      written: 3000,
      duplicates: 0,
    });
    const pages: TsEvent[] = [];
    let after: { eventTimeUs: bigint; eventId: string } | undefined;
    for (;;) {
      const page = await ts.read(ns, "big", {
        ...readAll(base, base + 3000n),
        limitEvents: 700,
        ...(after ? { after } : {}),
      });
      pages.push(...page.events);
      if (!page.more) break;
      after = page.events.at(-1)!;
    }
    expect(pages.map((e) => e.eventTimeUs)).toEqual(events.map((e) => e.eventTimeUs).reverse());
    const odd = await ts.read(ns, "big", {
      ...readAll(base, base + 3000n),
      descending: true,
      tagFilter: { parity: "1" },
    });
    expect(odd.events).toHaveLength(1500);
    expect(odd.events[0]!.eventTimeUs).toBe(base + 2998n);
  });

  it("continues a paged read correctly when events of later pages are appended between pages", async () => {
    const ns = freshNamespace();
    const base = nowUs() - 60_000_000n;
    const other = Array.from({ length: 50 }, (_, i) => ev(base + BigInt(i), `o${i}`));
    await ts.write(
      ns,
      "s",
      Array.from({ length: 30 }, (_, i) => ev(base + BigInt(i * 10), `a${i}`)),
      { settings: SETTINGS },
    );
    for (const descending of [false, true]) {
      const seen: string[] = [];
      let after: { eventTimeUs: bigint; eventId: string } | undefined;
      for (let page = 0; ; page++) {
        const options = {
          ...readAll(base, base + 1000n),
          descending,
          limitEvents: 7,
          ...(after ? { after } : {}),
        };
        const result = await ts.read(ns, "s", options);
        seen.push(...result.events.map((e) => e.eventId));
        if (page === 1 && !descending) {
          // Later in read order than the cursor (so on a later page), but appended after the scan.
          await ts.write(ns, "s", [ev(base + 999n, "late"), ev(base + 5n, "early")], { settings: SETTINGS });
          await ts.write(ns, "other", other, { settings: SETTINGS });
        }
        if (!result.more) break;
        after = result.events.at(-1)!;
      }
      if (!descending) {
        expect(seen).toHaveLength(31);
        expect(seen.at(-1)).toBe("late");
        expect(seen).not.toContain("early");
      } else {
        expect(seen).toHaveLength(32);
        expect(seen[0]).toBe("late");
      }
    }
  });

  it("finds events written with an accept window far smaller than their age range only inside it", async () => {
    const ns = freshNamespace();
    const now = nowUs();
    const settings = { retentionMs: 24 * HOUR_MS, acceptPastMs: 5 * 60_000, acceptFutureMs: 60_000 };
    await ts.write(ns, "s", [ev(now - 4n * 60_000_000n, "a"), ev(now + 30_000_000n, "b")], { settings });
    expect(await ts.write(ns, "s", [ev(now + 30_000_000n, "b")], { settings })).toEqual({
      written: 0,
      duplicates: 1,
    });
    const { events } = await ts.read(ns, "s", readAll(now - HOUR_US, now + HOUR_US, settings));
    expect(events.map((e) => e.eventId)).toEqual(["a", "b"]);
    // Event times long before anything was appended: the scan starts at the partition's end.
    const old = await ts.read(ns, "s", readAll(now - 48n * HOUR_US, now - 47n * HOUR_US, settings));
    expect(old).toEqual({ events: [], more: false });
  });

  it("reads a namespace never written as empty without creating its topic", async () => {
    const ns = freshNamespace();
    expect(await ts.read(ns, "s", readAll(0n, nowUs()))).toEqual({ events: [], more: false });
    expect(await client.listTopics()).not.toContain(topicName(topicPrefix, ns));
  });

  it("tails a namespace whose topic does not exist yet", async () => {
    const ns = freshNamespace();
    const controller = new AbortController();
    const tail = ts
      .tail(ns, "s", { settings: SETTINGS, tagFilter: {}, signal: controller.signal })
      [Symbol.asyncIterator]();
    const first = tail.next();
    // The tail creates the topic; write once it exists so the event comes after the hand-over.
    for (let i = 0; i < 200 && !(await client.listTopics()).includes(topicName(topicPrefix, ns)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    await ts.write(ns, "s", [ev(nowUs(), "live")], { settings: SETTINGS });
    const result = await first;
    expect(result.done).toBe(false);
    expect(ids(result.value as TsEvent[])).toHaveLength(1);
    controller.abort();
    expect((await tail.next()).done).toBe(true);
  });

  it("fails calls of a backend whose broker is unreachable with Unavailable, and reports it unhealthy", async () => {
    const down = await kafkaDriver.open({
      name: "kafka-down",
      options: { brokers: "127.0.0.1:1", retries: 1, connectTimeoutMs: 500 },
      dataDir: tmpdir(),
    });
    try {
      const report = await down.health(AbortSignal.timeout(20_000));
      expect(report.ok).toBe(false);
      expect(report.message).toBe("backend kafka-down is unavailable");
      const calls = [
        () => down.timeseries!.write("ns", "s", [ev(nowUs(), "a")], { settings: SETTINGS }),
        () => down.timeseries!.read("ns", "s", readAll(0n, nowUs())),
        () => down.timeseries!.retain("ns", { settings: SETTINGS }),
      ];
      for (const call of calls) await expect(call()).rejects.toSatisfy((e) => isPrismError(e, "Unavailable"));
      const tail = down
        .timeseries!.tail("ns", "s", { settings: SETTINGS, tagFilter: {} })
        [Symbol.asyncIterator]();
      await expect(tail.next()).rejects.toSatisfy((e) => isPrismError(e, "Unavailable"));
    } finally {
      await down.close();
    }
  });

  it("rejects invalid options, every problem at once", async () => {
    expect(
      kafkaDriver.validate({ brokers: "no port", topicPrefix: "a.b", numPartitions: 0, typo: 1 }),
    ).toEqual([
      "typo: unknown option (known: brokers, topicPrefix, numPartitions, replicationFactor, connectTimeoutMs, requestTimeoutMs, retries, clockSkewMs, maxMessageBytes, maxBatchBytes, fetchBytes)",
      "brokers: must be host:port, comma-separated, or env:/file:",
      "topicPrefix: must be 1 to 64 of A-Z, a-z, 0-9 and -",
      "numPartitions: must be an integer from 1 to 10000",
    ]);
    await expect(kafkaDriver.open({ name: "k", options: {}, dataDir: tmpdir() })).rejects.toSatisfy((e) =>
      isPrismError(e, "InvalidArgument"),
    );
  });
});
