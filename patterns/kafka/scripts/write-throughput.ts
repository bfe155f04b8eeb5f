/**
 * Write throughput of the kafka TimeSeries backend against a real broker (default: the stack's).
 * Sequential batches to one series, then concurrent writers on separate series, for batch sizes
 * 100 and 1,000 with 100-byte payloads. Every write first scans the series' partition for stored
 * duplicates: the first write of a series scans its accept window, later ones only what was
 * appended since (the stored-identity cache). The script prints the first and last tenth of
 * each run's batch latencies, to show whether the cost grows as the partition fills.
 *
 *   PRISM_TEST_KAFKA_BROKERS=127.0.0.1:19092 npx tsx patterns/kafka/scripts/write-throughput.ts
 */
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import type { TimeSeriesBackend, TsEvent } from "@prism/core";
import { Kafka, logLevel } from "kafkajs";
import { kafkaDriver } from "../src/index.js";

const brokers = process.env.PRISM_TEST_KAFKA_BROKERS ?? "127.0.0.1:19092";
const topicPrefix = `prismbench-${randomBytes(3).toString("hex")}`;
const settings = { retentionMs: 86_400_000, acceptPastMs: 7 * 86_400_000, acceptFutureMs: 3_600_000 };
const payload = new Uint8Array(100).fill(7);

function batch(size: number, seq: number): TsEvent[] {
  const base = BigInt(Date.now()) * 1000n;
  return Array.from({ length: size }, (_, i) => ({
    eventTimeUs: base + BigInt(i),
    eventId: `${seq}-${i}`,
    payload,
    tags: { host: "h1" },
  }));
}

async function run(ts: TimeSeriesBackend, label: string, size: number, batches: number, writers: number) {
  const ns = `bench-${label}-${size}`;
  const durations: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < batches / writers; i++) {
        const t = performance.now();
        const { written } = await ts.write(ns, `series-${w}`, batch(size, i), { settings });
        if (written !== size) throw new Error(`wrote ${written} of ${size}`);
        durations.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...durations].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1);
  const tenth = Math.max(1, Math.floor(durations.length / 10));
  const mean = (ds: number[]) => (ds.reduce((a, d) => a + d, 0) / ds.length).toFixed(1);
  console.log(
    `${label.padEnd(10)} batch ${String(size).padStart(5)} x ${batches}, ${writers} writer(s): ` +
      `${Math.round((size * batches) / seconds)} events/s; batch latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms; ` +
      `mean of first tenth ${mean(durations.slice(0, tenth))} ms, last tenth ${mean(durations.slice(-tenth))} ms`,
  );
}

const backend = await kafkaDriver.open({
  name: "bench",
  options: { brokers, topicPrefix },
  dataDir: tmpdir(),
});
const ts = backend.timeseries!;
try {
  await run(ts, "sequential", 100, 200, 1);
  await run(ts, "sequential", 1000, 50, 1);
  await run(ts, "concurrent", 100, 400, 8);
  await run(ts, "concurrent", 1000, 80, 8);
} finally {
  await backend.close();
  const admin = new Kafka({
    clientId: "bench-cleanup",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${topicPrefix}.`));
  await admin.deleteTopics({ topics });
  await admin.disconnect();
}
