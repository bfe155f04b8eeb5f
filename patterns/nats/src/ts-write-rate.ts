/**
 * Write throughput of the NATS TimeSeries backend (ADR-0013), closed loop: batches of 100 and
 * 1,000 events (100-byte payloads, two tags), from 1 and 4 writers on separate series, then the
 * same batches replayed (all duplicates). Not a test: run it by hand against the stack.
 *
 *     eval "$(pnpm -s stack env)"; npx tsx patterns/nats/src/ts-write-rate.ts [events per run]
 */

import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { TsEvent } from "@prism/core";
import { natsDriver } from "./nats-driver.js";

const url = process.env.PRISM_TEST_NATS_URL ?? "nats://127.0.0.1:14222";
const total = Number(process.argv[2] ?? 50_000);
const bucketPrefix = `prismrate-${randomBytes(4).toString("hex")}`;
const settings = { retentionMs: 7 * 86_400_000, acceptPastMs: 86_400_000, acceptFutureMs: 3_600_000 };

const backend = await natsDriver.open({ name: "rate", options: { url, bucketPrefix }, dataDir: tmpdir() });
const ts = backend.timeseries!;
const payload = new Uint8Array(100).fill(42);

function batchOf(writer: number, index: number, size: number): TsEvent[] {
  const base = BigInt(Date.now()) * 1000n;
  return Array.from({ length: size }, (_, i) => ({
    eventTimeUs: base + BigInt(i),
    eventId: `w${writer}-b${index}-e${i}`,
    payload,
    tags: { host: `h${writer}`, kind: "rate" },
  }));
}

async function run(label: string, size: number, writers: number): Promise<void> {
  const ns = `rate-${size}-${writers}`;
  const batches = Math.ceil(total / size / writers);
  const written: TsEvent[][][] = Array.from({ length: writers }, () => []);
  const write = async (replay: boolean) => {
    const started = performance.now();
    let events = 0;
    let duplicates = 0;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let k = 0; k < batches; k++) {
          const batch = replay ? written[w]![k]! : batchOf(w, k, size);
          if (!replay) written[w]!.push(batch);
          const result = await ts.write(ns, `series-${w}`, batch, { settings });
          events += batch.length;
          duplicates += result.duplicates;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const rate = Math.round(events / seconds);
    const kind = replay ? "replay" : "new";
    console.log(
      `${label.padEnd(24)} ${kind.padEnd(7)} ${String(events).padStart(7)} events  ${String(rate).padStart(7)} events/s  duplicates ${duplicates}`,
    );
  };
  await write(false);
  await write(true);
}

try {
  await ts.retain("rate-warmup", { settings });
  await ts.write("rate-warmup", "s", batchOf(0, 0, 100), { settings });
  for (const size of [100, 1000]) {
    for (const writers of [1, 4]) await run(`batch ${size}, ${writers} writer(s)`, size, writers);
  }
} finally {
  await backend.close();
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`TS_${bucketPrefix}_`)) await jsm.streams.delete(name);
  }
  await nc.close();
}
