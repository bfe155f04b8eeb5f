import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { type Backend, isPrismError, type KeyValueBackend } from "@prism/core";
import { b, freshNamespace, keyValueConformance } from "@prism/core/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsDriver } from "./index.js";

const url = process.env.PRISM_TEST_NATS_URL ?? "nats://127.0.0.1:14222";
const shownUrl = url.replace(/\/\/[^@/]*@/, "//***@");
// A prefix of this run's own, so the buckets it creates can be removed afterwards.
const bucketPrefix = `prismtest-${randomBytes(4).toString("hex")}`;
const ALL = { limitItems: 10_000, limitBytes: 64 << 20 };

/** Opens the backend on the test server, failing (never skipping) with a hint when it is down. */
async function openNats(): Promise<Backend> {
  const backend = await natsDriver.open({
    name: "nats-test",
    options: { url, bucketPrefix },
    dataDir: tmpdir(),
  });
  const report = await backend.health(AbortSignal.timeout(5000));
  if (!report.ok) {
    await backend.close();
    throw new Error(
      `NATS with JetStream is not reachable at ${shownUrl} (${report.message}). Run \`pnpm stack up\`, ` +
        "or point PRISM_TEST_NATS_URL at a server started with `nats-server -js`.",
    );
  }
  return backend;
}

afterAll(async () => {
  const nc = await connect({ servers: url, timeout: 2000 }).catch(() => undefined);
  if (!nc) return;
  const jsm = await jetstreamManager(nc);
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`KV_${bucketPrefix}_`)) await jsm.streams.delete(name);
  }
  await nc.close();
});

keyValueConformance({ name: "nats", open: openNats });

describe("nats backend", () => {
  let backend: Backend;
  let kv: KeyValueBackend;
  beforeAll(async () => {
    backend = await openNats();
    kv = backend.keyvalue!;
  });
  afterAll(() => backend?.close());

  it("declares what NATS 2.9 can do, and a value limit the server accepts", () => {
    expect(kv.capabilities.ttl).toBe(false);
    expect(kv.capabilities.atomicMutate).toBe(false);
    expect(kv.capabilities.maxItemValueBytes).toBeGreaterThan(512 * 1024);
    expect(kv.capabilities.maxItemValueBytes).toBeLessThanOrEqual(1024 * 1024);
  });

  it("round-trips a 1 KiB key of a long id, through get and scan", async () => {
    const ns = freshNamespace();
    const id = `\u{1F600}${"i".repeat(400)}`;
    const key = Uint8Array.from({ length: 1024 }, (_, i) => 255 - (i % 256));
    await kv.put(ns, id, [{ key, value: b("v") }], {});
    const { items } = await kv.get(ns, id, { kind: "all" }, ALL);
    expect(Buffer.from(items[0]!.key).equals(Buffer.from(key))).toBe(true);
    const { rows } = await kv.scan(ns, ALL);
    expect(rows.map((row) => row.id)).toEqual([id]);
  });

  it("keeps idempotency keys out of reads and scans", async () => {
    const ns = freshNamespace();
    await kv.put(ns, "r", [{ key: b("k"), value: b("v") }], { idempotencyKey: "token-1" });
    await kv.delete(ns, "other", { kind: "all" }, { idempotencyKey: "token-2" });
    expect((await kv.scan(ns, ALL)).rows.map((row) => row.id)).toEqual(["r"]);
    expect((await kv.get(ns, "r", { kind: "all" }, ALL)).items).toHaveLength(1);
  });

  it("rejects a value above its declared limit before writing anything", async () => {
    const ns = freshNamespace();
    const tooBig = new Uint8Array(kv.capabilities.maxItemValueBytes + 1);
    const write = kv.put(
      ns,
      "r",
      [
        { key: b("ok"), value: b("v") },
        { key: b("big"), value: tooBig },
      ],
      {},
    );
    await expect(write).rejects.toSatisfy((e) => isPrismError(e, "InvalidArgument"));
    expect((await kv.get(ns, "r", { kind: "all" }, ALL)).items).toEqual([]);
  });

  it("stores a value of exactly its declared limit, under a long key", async () => {
    const ns = freshNamespace();
    const value = new Uint8Array(kv.capabilities.maxItemValueBytes).fill(7);
    const key = new Uint8Array(1500).fill(0xee);
    await kv.put(ns, "r".repeat(200), [{ key, value }], {});
    const { items } = await kv.get(ns, "r".repeat(200), { kind: "all" }, ALL);
    expect(items[0]!.value.length).toBe(value.length);
  });

  it("lists a record promptly and once per key while its keys are purged and rewritten", async () => {
    const ns = freshNamespace();
    const value = new Uint8Array(64 * 1024);
    const generation = (g: number) => `g${String(g).padStart(4, "0")}`;
    let writing = true;
    const writer = (async () => {
      for (let g = 0; g < 30; g++) {
        const items = Array.from({ length: 16 }, (_, i) => ({ key: b(`${generation(g)}-${i}`), value }));
        await kv.put(ns, "c", items, {});
        await kv.delete(ns, "c", { kind: "range", start: b("g"), end: b(generation(g)) }, {});
      }
    })().finally(() => {
      writing = false;
    });
    let reads = 0;
    const reader = async () => {
      while (writing) {
        const started = Date.now();
        const { items } = await kv.get(
          ns,
          "c",
          { kind: "all" },
          { ...ALL, signal: AbortSignal.timeout(4000) },
        );
        expect(Date.now() - started).toBeLessThan(4000);
        const keys = items.map((i) => Buffer.from(i.key).toString());
        expect(new Set(keys).size).toBe(keys.length);
        reads++;
      }
    };
    await Promise.all([writer, reader(), reader(), reader()]);
    expect(reads).toBeGreaterThan(3);
  });

  it("deletes leave nothing in the stream for listings to trip over", async () => {
    const ns = freshNamespace();
    await kv.put(
      ns,
      "r",
      ["a", "b", "c", "d"].map((k) => ({ key: b(k), value: b("v") })),
      {},
    );
    await kv.put(ns, "s", [{ key: b("x"), value: b("v") }], {});
    await kv.delete(ns, "r", { kind: "keys", keys: [b("a"), b("zz")] }, {});
    await kv.delete(ns, "r", { kind: "range", start: b("b"), end: b("c") }, {});
    await kv.delete(ns, "s", { kind: "all" }, {});
    const nc = await connect({ servers: url, timeout: 2000 });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`KV_${bucketPrefix}_${ns}`, { subjects_filter: ">" });
    await nc.close();
    expect(Object.values(info.state.subjects ?? {})).toEqual([1, 1]);
    expect((await kv.scan(ns, ALL)).rows.map((row) => Buffer.from(row.item.key).toString())).toEqual([
      "c",
      "d",
    ]);
  });

  it("stops waiting when the caller's signal fires mid-call", async () => {
    const ns = freshNamespace();
    const items = Array.from({ length: 200 }, (_, i) => ({ key: b(`k${i}`), value: new Uint8Array(1024) }));
    const controller = new AbortController();
    const write = kv.put(ns, "r", items, { signal: controller.signal });
    controller.abort();
    await expect(write).rejects.toSatisfy((e) => isPrismError(e, "Cancelled"));
  });
});

describe("nats backend, server unreachable", () => {
  it("opens, fails calls fast with Unavailable, and reports unhealthy without throwing", async () => {
    // Port 1 on loopback refuses connections; credentials must not leak into any message.
    const started = Date.now();
    const down = await natsDriver.open({
      name: "nats-down",
      options: { url: "nats://user:hunter2@127.0.0.1:1", connectTimeoutMs: 500, maxValueBytes: 8 << 20 },
      dataDir: tmpdir(),
    });
    // Until a server says otherwise, values fit the NATS default max_payload with their header byte.
    expect(down.keyvalue!.capabilities.maxItemValueBytes).toBe(1024 * 1024 - 1);
    const error: unknown = await down.keyvalue!.get("ns", "r", { kind: "all" }, ALL).catch((e: unknown) => e);
    expect(isPrismError(error, "Unavailable")).toBe(true);
    expect((error as Error).message).toBe("backend nats-down is unavailable");
    const report = await down.health(AbortSignal.timeout(2000));
    expect(report.ok).toBe(false);
    expect(report.message).not.toContain("hunter2");
    expect(Date.now() - started).toBeLessThan(2000);
    await down.close();
    await down.close(); // idempotent
  });
});
