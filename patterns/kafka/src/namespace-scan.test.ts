import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { type Backend, eventKey, isPrismError, type TsEvent, type TsScanResult } from "@prism/core";
import { b, freshNamespace } from "@prism/core/conformance";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaDriver, topicName } from "./index.js";
import { decodeScanCursor, encodeScanCursor, MAX_RECORDED_ENDS } from "./scan-cursor.js";

const brokers = process.env.PRISM_TEST_KAFKA_BROKERS ?? "127.0.0.1:19092";
const topicPrefix = `prismscan-${randomBytes(4).toString("hex")}`;
const HOUR_MS = 3_600_000;
const SETTINGS = { retentionMs: 24 * HOUR_MS, acceptPastMs: HOUR_MS, acceptFutureMs: 10 * 60_000 };
/** More partitions than a cursor records ends for: the rest get theirs when the scan reaches them. */
const PARTITIONS = MAX_RECORDED_ENDS + 20;

describe("kafka scan cursor", () => {
  const state = { partitions: 300, partition: 7, next: 123_456_789n, ends: [9_007_199_254_740_993n, 0n] };

  it("round-trips, bound to its namespace", () => {
    expect(decodeScanCursor("ns", encodeScanCursor("ns", state))).toEqual(state);
    const notStarted = { ...state, next: undefined, ends: [] };
    expect(decodeScanCursor("ns", encodeScanCursor("ns", notStarted))).toEqual(notStarted);
    expect(() => decodeScanCursor("other", encodeScanCursor("ns", state))).toThrow(/scan cursor/);
  });

  it("stays below 4 KiB with the most ends it records, at the largest offsets", () => {
    const ends = Array.from({ length: 400 }, () => (1n << 63n) - 1n);
    const cursor = encodeScanCursor("ns", { partitions: 1_000_000, partition: 0, next: 1n << 62n, ends });
    expect(cursor.length).toBeLessThanOrEqual(4096);
    expect(decodeScanCursor("ns", cursor).ends).toHaveLength(MAX_RECORDED_ENDS);
  });

  it("refuses states that cannot be", () => {
    const forged = (fields: unknown[]) => Buffer.from(JSON.stringify(fields)).toString("base64url");
    const tagged = JSON.parse(Buffer.from(encodeScanCursor("ns", state), "base64url").toString("utf8"));
    const valid = forged(tagged);
    expect(decodeScanCursor("ns", valid)).toEqual(state);
    for (const bad of [
      forged([...tagged.slice(0, 3), 300, "", ""]), // partition past the count
      forged([...tagged.slice(0, 4), "-1", ""]), // negative offset
      forged([...tagged.slice(0, 5), "1,x"]), // an end that is no offset
      forged([...tagged.slice(0, 2), 0, 0, "", ""]), // no partitions
    ]) {
      expect(() => decodeScanCursor("ns", bad)).toThrow(expect.objectContaining({ kind: "InvalidArgument" }));
    }
  });
});

describe("kafka scan over many partitions", () => {
  const admin = new Kafka({
    clientId: "prism-scan-test",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
  }).admin();
  let backend: Backend;
  beforeAll(async () => {
    backend = await kafkaDriver.open({
      name: "kafka-scan-test",
      options: { brokers, topicPrefix, numPartitions: PARTITIONS },
      dataDir: tmpdir(),
    });
    const report = await backend.health(AbortSignal.timeout(10_000));
    if (!report.ok) throw new Error(`Kafka is not reachable at ${brokers}. Run \`pnpm stack up\`.`);
    await admin.connect();
  });
  afterAll(async () => {
    await backend?.close();
    const topics = (await admin.listTopics().catch(() => [])).filter((t) => t.startsWith(`${topicPrefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  /**
   * A namespace whose topic exists with every partition led: a broker takes a moment to elect
   * leaders for this many partitions, longer than a write's retries wait.
   */
  async function readyNamespace(): Promise<string> {
    const ns = freshNamespace();
    const topic = topicName(topicPrefix, ns);
    for (let attempt = 0; attempt < 100; attempt++) {
      await backend.timeseries!.retain(ns, { settings: SETTINGS }).catch(() => undefined);
      const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
      if (offsets.length === PARTITIONS) return ns;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the topic of ${ns} has no leader for every partition`);
  }

  it("reads every partition, ends while writes go on, and keeps its cursors below 4 KiB", async () => {
    const ts = backend.timeseries!;
    const ns = await readyNamespace();
    const base = BigInt(Date.now()) * 1000n - 60_000_000n;
    const written = new Set<string>();
    // Enough series to reach partitions on both sides of the recorded ends.
    for (let s = 0; s < 160; s++) {
      const events: TsEvent[] = [0n, 1n].map((i) => ({
        eventTimeUs: base + i,
        eventId: `e${i}`,
        payload: b(`s${s}-e${i}`),
        tags: { s: String(s) },
      }));
      await ts.write(ns, `series-${s}`, events, { settings: SETTINGS });
      for (const e of events) written.add(`series-${s}/${eventKey(e)}`);
    }
    const seen = new Set<string>();
    const late = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page: TsScanResult = await ts.scan(ns, {
        settings: SETTINGS,
        limitEvents: 25,
        limitBytes: 1 << 20,
        ...(cursor ? { cursor } : {}),
      });
      for (const { seriesId, event } of page.events) seen.add(`${seriesId}/${eventKey(event)}`);
      cursor = page.cursor;
      expect(cursor?.length ?? 0).toBeLessThanOrEqual(4096);
      // A write to a series of every partition after each page: the scan must still end.
      const id = `late-${pages}`;
      for (let s = 0; s < 160; s += 40) {
        const event = { eventTimeUs: base, eventId: id, payload: b(id), tags: {} };
        await ts.write(ns, `series-${s}`, [event], { settings: SETTINGS });
        late.add(`series-${s}/${eventKey(event)}`);
      }
    } while (cursor !== undefined && ++pages < 500);
    expect(cursor).toBeUndefined();
    for (const key of written) expect(seen.has(key), key).toBe(true);
    for (const key of seen) expect(written.has(key) || late.has(key), key).toBe(true);
  });

  it("refuses a cursor of another namespace", async () => {
    const ts = backend.timeseries!;
    const ns = await readyNamespace();
    await ts.write(
      ns,
      "s",
      [{ eventTimeUs: BigInt(Date.now()) * 1000n, eventId: "a", payload: b("a"), tags: {} }],
      {
        settings: SETTINGS,
      },
    );
    const foreign = encodeScanCursor("elsewhere", {
      partitions: PARTITIONS,
      partition: 0,
      next: 0n,
      ends: [],
    });
    const error = await ts
      .scan(ns, { settings: SETTINGS, limitEvents: 5, limitBytes: 1000, cursor: foreign })
      .catch((e: unknown) => e);
    expect(isPrismError(error, "InvalidArgument")).toBe(true);
  });
});
