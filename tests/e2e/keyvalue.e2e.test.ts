import { status } from "@grpc/grpc-js";
import { createPromiseClient, errorDetails, type PromiseClient } from "@prism/proto/grpc";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b, s } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startBackendMatrix } from "../support/gateway-process.js";

/**
 * KeyValue end to end: the gateway runs as a process with a memory and a SQLite namespace, and
 * every call goes over gRPC, as an application's would.
 */
const BACKENDS = [
  { namespace: "e2e-memory", backend: "mem", ttl: true, atomic: true },
  { namespace: "e2e-sqlite", backend: "local", ttl: true, atomic: true },
  { namespace: "e2e-postgres", backend: "pg", ttl: true, atomic: true },
  { namespace: "e2e-nats", backend: "nats", ttl: true, atomic: false },
] as const;

let gateway: GatewayProcess;
let kv: PromiseClient<typeof KeyValueService.method> & { close(): void };

beforeAll(async () => {
  gateway = await startBackendMatrix("e2e", {
    namespaces: [
      ...BACKENDS.map(({ namespace, backend }) => ({ name: namespace, pattern: "keyvalue", backend })),
      { name: "e2e-small", pattern: "keyvalue", backend: "mem", limits: { max_value_bytes: 64 } },
    ],
    keyvalue: { chunkBytes: 4096 },
  });
  kv = createPromiseClient(KeyValueService, { address: gateway.address });
}, 60_000);

afterAll(async () => {
  kv?.close();
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

const token = (id: string) => ({
  generationTime: { seconds: BigInt(Math.floor(Date.now() / 1000)) },
  token: id,
});

describe.each(BACKENDS)("KeyValue over gRPC on $backend", ({ namespace, ttl, atomic }) => {
  it("puts and gets a flat value and a record of items", async () => {
    await kv.put({ namespace, id: "flat", items: [{ key: new Uint8Array(), value: b("hello") }] });
    const flat = await kv.get({ namespace, id: "flat" });
    expect(flat.items.map((i) => s(i.value))).toEqual(["hello"]);
    expect(flat.nextPageToken).toBe("");

    await kv.put({
      namespace,
      id: "rec",
      items: ["c", "a", "b"].map((k) => ({ key: b(k), value: b(`v${k}`) })),
    });
    const keys = await kv.get({
      namespace,
      id: "rec",
      predicate: { case: "keys", value: { keys: [b("c"), b("a")] } },
    });
    expect(keys.items.map((i) => s(i.key))).toEqual(["a", "c"]);
    const range = await kv.get({
      namespace,
      id: "rec",
      predicate: { case: "range", value: { start: b("b"), end: b("c") } },
    });
    expect(range.items.map((i) => s(i.key))).toEqual(["b"]);
  });

  it("pages by item count and by bytes with next_page_token", async () => {
    const items = Array.from({ length: 7 }, (_, i) => ({ key: b(`k${i}`), value: b("x".repeat(100)) }));
    await kv.put({ namespace, id: "paged", items });
    const seen: string[][] = [];
    let pageToken = "";
    do {
      const page = await kv.get({ namespace, id: "paged", pageSizeItems: 3, pageSizeBytes: 250, pageToken });
      seen.push(page.items.map((i) => s(i.key)));
      pageToken = page.nextPageToken;
    } while (pageToken);
    // 102 bytes per item: the byte bound (2 per page) is tighter than the count bound (3).
    expect(seen).toEqual([["k0", "k1"], ["k2", "k3"], ["k4", "k5"], ["k6"]]);
  });

  it("rejects a page token used with another predicate", async () => {
    await kv.put({ namespace, id: "tok", items: ["a", "b", "c"].map((k) => ({ key: b(k), value: b("v") })) });
    const first = await kv.get({ namespace, id: "tok", pageSizeItems: 1 });
    const misuse = kv.get({ namespace, id: "other", pageToken: first.nextPageToken });
    await expect(misuse).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(errorDetails(await misuse.catch((e: unknown) => e)).reason).toBe("INVALID_PAGE_TOKEN");
  });

  it("deletes keys, ranges and whole records", async () => {
    await kv.put({
      namespace,
      id: "del",
      items: ["a", "b", "c", "d"].map((k) => ({ key: b(k), value: b("v") })),
    });
    await kv.delete({ namespace, id: "del", predicate: { case: "keys", value: { keys: [b("a")] } } });
    await kv.delete({
      namespace,
      id: "del",
      predicate: { case: "range", value: { start: b("c"), end: new Uint8Array() } },
    });
    expect((await kv.get({ namespace, id: "del" })).items.map((i) => s(i.key))).toEqual(["b"]);
    await kv.delete({ namespace, id: "del" });
    expect((await kv.get({ namespace, id: "del" })).items).toEqual([]);
  });

  it("mutates in order, atomically", async () => {
    await kv.put({ namespace, id: "mut", items: [{ key: b("old"), value: b("1") }] });
    const result = await kv.mutate({
      namespace,
      id: "mut",
      mutations: [
        { op: { case: "put", value: { key: b("new"), value: b("2") } } },
        { op: { case: "deleteKeys", value: { keys: [b("old")] } } },
        { op: { case: "put", value: { key: b("old"), value: b("3") } } },
        { op: { case: "deleteRange", value: { start: b("n"), end: b("o") } } },
      ],
    });
    expect(result.atomic).toBe(atomic);
    const items = (await kv.get({ namespace, id: "mut" })).items;
    expect(items.map((i) => [s(i.key), s(i.value)])).toEqual([["old", "3"]]);
  });

  it("treats a replayed idempotency token as a no-op", async () => {
    const first = await kv.put({
      namespace,
      id: "idem",
      items: [{ key: b("k"), value: b("v1") }],
      idempotencyToken: token("tok-1"),
    });
    expect(first.replayed).toBe(false);
    await kv.put({ namespace, id: "idem", items: [{ key: b("k"), value: b("v2") }] });
    const replay = await kv.put({
      namespace,
      id: "idem",
      items: [{ key: b("k"), value: b("v1") }],
      idempotencyToken: token("tok-1"),
    });
    expect(replay.replayed).toBe(true);
    expect(s((await kv.get({ namespace, id: "idem" })).items[0]!.value)).toBe("v2");
  });

  it("expires items after their TTL and reports expire_time, or refuses TTLs the backend lacks", async () => {
    if (!ttl) {
      const refused = kv.put({
        namespace,
        id: "ttl",
        items: [{ key: b("k"), value: b("v"), ttl: { seconds: 5n } }],
      });
      await expect(refused).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
      expect(errorDetails(await refused.catch((e: unknown) => e)).reason).toBe("CAPABILITY_UNSUPPORTED");
      expect((await kv.get({ namespace, id: "ttl" })).items).toEqual([]);
      return;
    }
    await kv.put({
      namespace,
      id: "ttl",
      items: [
        { key: b("short"), value: b("v"), ttl: { seconds: 0n, nanos: 400_000_000 } },
        { key: b("long"), value: b("v") },
      ],
    });
    const before = await kv.get({ namespace, id: "ttl" });
    expect(before.items.map((i) => [s(i.key), i.expireTime !== undefined])).toEqual([
      ["long", false],
      ["short", true],
    ]);
    await new Promise((r) => setTimeout(r, 600));
    expect((await kv.get({ namespace, id: "ttl" })).items.map((i) => s(i.key))).toEqual(["long"]);
  });

  it("chunks values above the chunk size and reassembles them, also after overwrite and delete", async () => {
    const big = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 7) & 0xff);
    await kv.put({
      namespace,
      id: "big",
      items: [
        { key: b("blob"), value: big },
        { key: b("small"), value: b("s") },
      ],
    });
    const got = await kv.get({
      namespace,
      id: "big",
      predicate: { case: "keys", value: { keys: [b("blob")] } },
    });
    expect(Buffer.from(got.items[0]!.value).equals(Buffer.from(big))).toBe(true);

    const bigger = new Uint8Array(30_000).fill(9);
    await kv.put({ namespace, id: "big", items: [{ key: b("blob"), value: bigger }] });
    const again = await kv.get({
      namespace,
      id: "big",
      predicate: { case: "keys", value: { keys: [b("blob")] } },
    });
    expect(Buffer.from(again.items[0]!.value).equals(Buffer.from(bigger))).toBe(true);

    // A page holds real value bytes: the 30 KB value alone fills a 1 KB page.
    const paged = await kv.get({ namespace, id: "big", pageSizeBytes: 1024 });
    expect(paged.items.map((i) => s(i.key))).toEqual(["blob"]);
    expect(paged.nextPageToken).not.toBe("");

    await kv.delete({ namespace, id: "big", predicate: { case: "keys", value: { keys: [b("blob")] } } });
    expect((await kv.get({ namespace, id: "big" })).items.map((i) => s(i.key))).toEqual(["small"]);
    // Chunks are internal: a scan shows only the user's record.
    const ids: string[] = [];
    for await (const message of kv.scan({ namespace })) ids.push(message.id);
    expect(ids.some((id) => id.includes("\u0001"))).toBe(false);
  });

  it("scans every record and resumes from a cursor", async () => {
    const scanNs = namespace;
    const all: string[] = [];
    const cursors: string[] = [];
    for await (const message of kv.scan({ namespace: scanNs })) {
      for (const item of message.items) all.push(`${message.id}/${s(item.key)}`);
      cursors.push(message.cursor);
    }
    expect(all).toContain("rec/a");
    expect(all).toContain("flat/");
    // Resuming from the middle yields exactly the rest.
    const middle = Math.floor(cursors.length / 2);
    const before: string[] = [];
    let count = 0;
    for await (const message of kv.scan({ namespace: scanNs })) {
      for (const item of message.items) before.push(`${message.id}/${s(item.key)}`);
      if (++count > middle) break;
    }
    const rest: string[] = [];
    for await (const message of kv.scan({ namespace: scanNs, cursor: cursors[middle]! })) {
      for (const item of message.items) rest.push(`${message.id}/${s(item.key)}`);
    }
    expect([...before, ...rest]).toEqual(all);
  });
});

describe("bad input gets a clear error, never a crash", () => {
  const cases: [string, () => Promise<unknown>, status, string][] = [
    [
      "empty namespace",
      () => kv.get({ namespace: "", id: "x" }),
      status.INVALID_ARGUMENT,
      "NAMESPACE_REQUIRED",
    ],
    [
      "unknown namespace",
      () => kv.get({ namespace: "nope", id: "x" }),
      status.NOT_FOUND,
      "NAMESPACE_NOT_FOUND",
    ],
    [
      "missing id",
      () => kv.put({ namespace: "e2e-memory", id: "", items: [{ value: b("v") }] }),
      status.INVALID_ARGUMENT,
      "ID_REQUIRED",
    ],
    [
      "control character in id",
      () => kv.get({ namespace: "e2e-memory", id: "a\u0001b" }),
      status.INVALID_ARGUMENT,
      "INVALID_ID",
    ],
    [
      "no items",
      () => kv.put({ namespace: "e2e-memory", id: "x", items: [] }),
      status.INVALID_ARGUMENT,
      "ITEMS_REQUIRED",
    ],
    [
      "key too long",
      () =>
        kv.put({ namespace: "e2e-memory", id: "x", items: [{ key: new Uint8Array(1025), value: b("v") }] }),
      status.INVALID_ARGUMENT,
      "KEY_TOO_LONG",
    ],
    [
      "value over the namespace limit",
      () => kv.put({ namespace: "e2e-small", id: "x", items: [{ value: new Uint8Array(65) }] }),
      status.INVALID_ARGUMENT,
      "VALUE_TOO_LARGE",
    ],
    [
      "malformed page token",
      () => kv.get({ namespace: "e2e-memory", id: "x", pageToken: "%%%" }),
      status.INVALID_ARGUMENT,
      "INVALID_PAGE_TOKEN",
    ],
    [
      "malformed scan cursor",
      async () => {
        for await (const _ of kv.scan({ namespace: "e2e-memory", cursor: "AAAA" })) {
          /* drain */
        }
      },
      status.INVALID_ARGUMENT,
      "INVALID_PAGE_TOKEN",
    ],
    [
      "range start after end",
      () =>
        kv.get({
          namespace: "e2e-memory",
          id: "x",
          predicate: { case: "range", value: { start: b("z"), end: b("a") } },
        }),
      status.INVALID_ARGUMENT,
      "INVALID_RANGE",
    ],
    [
      "negative ttl",
      () => kv.put({ namespace: "e2e-memory", id: "x", items: [{ value: b("v"), ttl: { seconds: -5n } }] }),
      status.INVALID_ARGUMENT,
      "INVALID_TTL",
    ],
    [
      "empty mutation",
      () => kv.mutate({ namespace: "e2e-memory", id: "x", mutations: [{}] }),
      status.INVALID_ARGUMENT,
      "MUTATION_EMPTY",
    ],
  ];

  it.each(cases)("%s", async (_name, call, code, reason) => {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, "the call should have failed").toMatchObject({ code });
    expect(errorDetails(error).reason).toBe(reason);
    // The gateway is still serving.
    await expect(kv.get({ namespace: "e2e-memory", id: "alive" })).resolves.toBeDefined();
  });

  it("never logs value bytes", async () => {
    const secret = "do-not-log-this-value-7f3a";
    await kv.put({ namespace: "e2e-memory", id: "secret", items: [{ value: b(secret) }] });
    await kv
      .put({ namespace: "e2e-small", id: "secret", items: [{ value: b(secret.repeat(10)) }] })
      .catch(() => undefined);
    expect(gateway.output()).not.toContain(secret);
  });
});
