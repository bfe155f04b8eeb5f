import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

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

  it("declares TTL on NATS 2.11+ (per-message TTL), no atomic mutate, and a value limit the server accepts", async () => {
    const nc = await connect({ servers: url, timeout: 2000 });
    const [major = 0, minor = 0] = (nc.info?.version ?? "").split(".").map(Number);
    await nc.close();
    expect(kv.capabilities.ttl).toBe(major > 2 || (major === 2 && minor >= 11));
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
        // A read that never completes fails the test with DeadlineExceeded.
        const { items } = await kv.get(
          ns,
          "c",
          { kind: "all" },
          { ...ALL, signal: AbortSignal.timeout(15_000) },
        );
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

  it("reads records too large for one multi-subject read: over 1,024 items, or over 4 MiB", async () => {
    const ns = freshNamespace();
    const many = Array.from({ length: 1100 }, (_, i) => ({
      key: b(`k${String(i).padStart(4, "0")}`),
      value: b("v"),
    }));
    await kv.put(ns, "many", many, {});
    const big = new Uint8Array(kv.capabilities.maxItemValueBytes).fill(3);
    await kv.put(
      ns,
      "big",
      Array.from({ length: 6 }, (_, i) => ({ key: b(`b${i}`), value: big })),
      {},
    );
    const keysOf = (items: { key: Uint8Array }[]) => items.map((item) => Buffer.from(item.key).toString());
    const all = await kv.get(ns, "many", { kind: "all" }, ALL);
    expect(keysOf(all.items)).toEqual(many.map((item) => Buffer.from(item.key).toString()));
    const page = await kv.get(
      ns,
      "many",
      { kind: "range", start: b("k0500"), end: b("k0600") },
      {
        limitItems: 10,
        limitBytes: 1 << 20,
        after: b("k0504"),
      },
    );
    expect(keysOf(page.items)).toEqual(Array.from({ length: 10 }, (_, i) => `k0${505 + i}`));
    expect(page.more).toBe(true);
    const bigPage = await kv.get(ns, "big", { kind: "all" }, { limitItems: 100, limitBytes: 1 });
    expect(keysOf(bigPage.items)).toEqual(["b0"]);
    expect(bigPage.more).toBe(true);
    const bigAll = await kv.get(ns, "big", { kind: "all" }, ALL);
    expect(keysOf(bigAll.items)).toEqual(["b0", "b1", "b2", "b3", "b4", "b5"]);
    expect(bigAll.items.every((item) => item.value.length === big.length)).toBe(true);
  });

  it("reads a namespace written by the earlier layout, and updates its stream in place on the first write", async () => {
    const ns = freshNamespace();
    const nc = await connect({ servers: url, timeout: 2000 });
    try {
      // What earlier versions made: a KV bucket without direct gets or TTL, values with a header byte.
      const old = await new Kvm(jetstream(nc)).create(`${bucketPrefix}_${ns}`, {
        history: 1,
        allow_direct: false,
        maxValueSize: 1024 * 1024 + 1,
      });
      await old.put("kc4.k", Uint8Array.of(0, 0x6f, 0x6c, 0x64)); // id "a", key "": "old"
      const read = await kv.get(ns, "a", { kind: "all" }, ALL);
      expect(read.items.map((item) => Buffer.from(item.value).toString())).toEqual(["old"]);
      await kv.put(ns, "a", [{ key: b("t"), value: b("new"), expiresAt: Date.now() + 60_000 }], {});
      const jsm = await jetstreamManager(nc);
      const { config } = await jsm.streams.info(`KV_${bucketPrefix}_${ns}`);
      expect(config.allow_direct).toBe(true);
      expect(config.allow_msg_ttl).toBe(true);
      const after = await kv.get(ns, "a", { kind: "all" }, ALL);
      expect(after.items.map((item) => Buffer.from(item.value).toString())).toEqual(["old", "new"]);
    } finally {
      await nc.close();
    }
  });

  it("leaves expired items out before the server removes them, and lets the server remove them", async () => {
    const ns = freshNamespace();
    const expiresAt = Date.now() + 300;
    await kv.put(
      ns,
      "r",
      [
        { key: b("t"), value: b("v"), expiresAt },
        { key: b("u"), value: b("v") },
      ],
      {},
    );
    await sleep(expiresAt - Date.now() + 20);
    // The server's TTL is whole seconds: the message is still stored, but no read returns it.
    const nc = await connect({ servers: url, timeout: 2000 });
    const jsm = await jetstreamManager(nc);
    const stored = async () => (await jsm.streams.info(`KV_${bucketPrefix}_${ns}`)).state.messages;
    expect(await stored()).toBe(2);
    expect(
      (await kv.get(ns, "r", { kind: "all" }, ALL)).items.map((i) => Buffer.from(i.key).toString()),
    ).toEqual(["u"]);
    expect((await kv.get(ns, "r", { kind: "keys", keys: [b("t")] }, ALL)).items).toEqual([]);
    expect((await kv.scan(ns, ALL)).rows.map((row) => Buffer.from(row.item.key).toString())).toEqual(["u"]);
    for (let waited = 0; waited < 3000 && (await stored()) > 1; waited += 100) await sleep(100);
    expect(await stored()).toBe(1);
    await nc.close();
  });

  it("scans in order across many short pages, keeping only a page's worth of candidates", async () => {
    const ns = freshNamespace();
    const ids = Array.from({ length: 300 }, (_, i) => `r${String(i).padStart(3, "0")}`);
    for (let start = 0; start < ids.length; start += 50) {
      await Promise.all(
        ids.slice(start, start + 50).map((id) => kv.put(ns, id, [{ key: b("k"), value: b(id) }], {})),
      );
    }
    await kv.delete(ns, "r007", { kind: "all" }, {});
    const seen: string[] = [];
    let after: { id: string; key: Uint8Array } | undefined;
    for (let guard = 0; guard < 200; guard++) {
      const page = await kv.scan(ns, { limitItems: 7, limitBytes: 1 << 20, ...(after ? { after } : {}) });
      seen.push(...page.rows.map((row) => row.id));
      if (!page.more) break;
      const last = page.rows.at(-1)!;
      after = { id: last.id, key: last.item.key };
    }
    expect(seen).toEqual(ids.filter((id) => id !== "r007"));
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
    // Until a server says otherwise, values fit the NATS default max_payload with their overhead.
    expect(down.keyvalue!.capabilities.maxItemValueBytes).toBe(1024 * 1024 - 64);
    expect(down.keyvalue!.capabilities.ttl).toBe(false);
    const error: unknown = await down.keyvalue!.get("ns", "r", { kind: "all" }, ALL).catch((e: unknown) => e);
    expect(isPrismError(error, "Unavailable")).toBe(true);
    expect((error as Error).message).toBe("backend nats-down is unavailable");
    const report = await down.health(AbortSignal.timeout(2000));
    expect(report.ok).toBe(false);
    expect(report.message).not.toContain("hunter2");
    // Calls fail without waiting out the 500 ms connect timeout per call, or a 5 s request timeout.
    expect(Date.now() - started).toBeLessThan(5_000);
    await down.close();
    await down.close(); // idempotent
  });
});
