/**
 * Get latency of one record against the size of its namespace, on a real NATS server.
 *
 *     npx tsx patterns/nats/scripts/get-vs-size.ts [--url nats://127.0.0.1:14222]
 *       [--records 1000,10000,100000] [--gets 300] [--impl ./path/to/index.ts]
 *
 * For each size it fills namespace `size<N>` (bucket prefix `getbench`) with N one-item records
 * (256-byte values) by publishing straight to the bucket's subjects, in the layout the backend
 * writes, unless the stream already holds them; a later run (or another `--impl`, e.g. a copy of
 * an older backend) reuses the data. Then it times `get` of random records, sequentially, with
 * the `all` predicate (which lists the record) and with a one-key predicate, and prints p50/p90/
 * p99 in ms. Remove the data with `--purge`.
 */
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { BackendDriver } from "@prism/core";
import { encodeId, encodeToken } from "../src/key-encoding.js";
import { encodeValue } from "../src/value-encoding.js";

const { values: args } = parseArgs({
  options: {
    url: { type: "string", default: process.env.PRISM_TEST_NATS_URL ?? "nats://127.0.0.1:14222" },
    records: { type: "string", default: "1000,10000,100000" },
    gets: { type: "string", default: "300" },
    impl: { type: "string" },
    purge: { type: "boolean", default: false },
  },
});

const PREFIX = "getbench";
const utf8 = new TextEncoder();
const idOf = (i: number) => `user-${String(i).padStart(8, "0")}`;
const KEY = utf8.encode("profile");

const module = (await import(args.impl ? resolve(args.impl) : "../src/index.js")) as {
  natsDriver: BackendDriver;
};
const nc = await connect({ servers: args.url, timeout: 3000 });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc, { timeout: 30_000 });
console.log(`server ${nc.info?.version}, impl ${args.impl ?? "current"}`);

if (args.purge) {
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`KV_${PREFIX}_`)) await jsm.streams.delete(name);
  }
  await nc.close();
  process.exit(0);
}

const backend = await module.natsDriver.open({
  name: "bench",
  options: { url: args.url, bucketPrefix: PREFIX, requestTimeoutMs: 30_000 },
  dataDir: tmpdir(),
});
const kv = backend.keyvalue!;
const value = new Uint8Array(256).fill(7);
const all = { limitItems: 1000, limitBytes: 1 << 20 };

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

for (const records of args.records.split(",").map(Number)) {
  const namespace = `size${records}`;
  const stream = `KV_${PREFIX}_${namespace}`;
  // The first write creates the bucket the way the backend does.
  await kv.put(namespace, idOf(0), [{ key: KEY, value }], {});
  const have = (await jsm.streams.info(stream)).state.messages;
  if (have < records) {
    const started = performance.now();
    const payload = encodeValue(value, false);
    const inFlight = new Set<Promise<unknown>>();
    for (let i = have; i < records; i++) {
      const publish = js.publish(
        `$KV.${PREFIX}_${namespace}.${encodeId(idOf(i))}.${encodeToken(KEY)}`,
        payload,
      );
      inFlight.add(publish);
      void publish.finally(() => inFlight.delete(publish));
      if (inFlight.size >= 1000) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    console.log(
      `  preloaded ${records - have} records in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  for (const [label, predicate] of [
    ["all", { kind: "all" as const }],
    ["one key", { kind: "keys" as const, keys: [KEY] }],
  ] as const) {
    const times: number[] = [];
    const gets = Number(args.gets);
    for (let n = 0; n < gets; n++) {
      const id = idOf(Math.floor(Math.random() * records));
      const started = performance.now();
      const { items } = await kv.get(namespace, id, predicate, all);
      times.push(performance.now() - started);
      if (items.length !== 1) throw new Error(`record ${id} has ${items.length} items`);
    }
    times.sort((a, b) => a - b);
    const ms = (p: number) => percentile(times, p).toFixed(2);
    console.log(
      `records ${String(records).padStart(8)}  get(${label.padEnd(7)})  p50 ${ms(0.5)} ms  p90 ${ms(0.9)} ms  p99 ${ms(0.99)} ms`,
    );
  }
}
await backend.close();
await nc.close();
