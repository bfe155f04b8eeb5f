import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { status } from "@grpc/grpc-js";
import { abortError, type Backend, type BackendDriver, type KeyValueBackend } from "@prism/core";
import { DRIVERS, gatewayConfigSchema, type RunningGateway, startGateway } from "@prism/gateway";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { Health, HealthCheckResponse_ServingStatus } from "@prism/proto/grpc/health/v1/health";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b, s } from "../support/bytes.js";
import { rpcFailure } from "../support/rpc-errors.js";

/**
 * The per-call pipeline, driven over gRPC against a gateway started in this process (so a test
 * driver can slow a real memory backend down): access lists, rate limits, deadlines, the receive
 * bound, page tokens bound to their namespace, and pages answered early before the deadline.
 */

/** Milliseconds every KeyValue read of the `slow` backend takes before it runs. */
const SLOW_READ_MS = 250;

/** The memory backend with every read delayed (abortable, like a real network wait). */
const slowMemoryDriver: BackendDriver = {
  type: "slow-memory",
  patterns: ["keyvalue"],
  validate: () => [],
  async open(context) {
    const memory = DRIVERS.find((driver) => driver.type === "memory")!;
    const backend = await memory.open({ ...context, options: {} });
    const kv = backend.keyvalue!;
    const delayed = async (signal: AbortSignal | undefined) => {
      try {
        await sleep(SLOW_READ_MS, undefined, signal ? { signal } : {});
      } catch (error) {
        throw signal?.aborted ? abortError(signal) : error;
      }
    };
    const slow: KeyValueBackend = {
      capabilities: kv.capabilities,
      put: (ns, id, items, options) => kv.put(ns, id, items, options),
      delete: (ns, id, predicate, options) => kv.delete(ns, id, predicate, options),
      mutate: (ns, id, mutations, options) => kv.mutate(ns, id, mutations, options),
      get: async (ns, id, predicate, options) => {
        await delayed(options.signal);
        return kv.get(ns, id, predicate, options);
      },
      scan: async (ns, options) => {
        await delayed(options.signal);
        return kv.scan(ns, options);
      },
    };
    const wrapped: Backend = {
      name: backend.name,
      type: "slow-memory",
      keyvalue: slow,
      health: (signal) => backend.health(signal),
      close: () => backend.close(),
    };
    return wrapped;
  },
};

let dataDir: string;
let gateway: RunningGateway;
let kv: PromiseClient<typeof KeyValueService.method> & { close(): void };
let admin: PromiseClient<typeof AdminService.method> & { close(): void };
let health: PromiseClient<typeof Health.method> & { close(): void };

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "prism-pipeline-"));
  const config = gatewayConfigSchema.parse({
    listen: { grpc: "127.0.0.1:0", maxReceiveBytes: 2 << 20 },
    dataDir,
    backends: { mem: { type: "memory" }, slow: { type: "slow-memory" } },
    namespaces: [
      { name: "open", pattern: "keyvalue", backend: "mem" },
      { name: "other", pattern: "keyvalue", backend: "mem" },
      {
        name: "read-only",
        pattern: "keyvalue",
        backend: "mem",
        access: { read: ["user:anonymous"], write: ["group:writers"] },
      },
      { name: "limited", pattern: "keyvalue", backend: "mem", limits: { rps: 1 } },
      { name: "slow", pattern: "keyvalue", backend: "slow" },
    ],
    keyvalue: { chunkBytes: 1024, maxValueBytes: 1 << 20, chunkGraceMs: 60_000 },
    defaultDeadlineMs: 1_500,
    maxDeadlineMs: 10_000,
    logLevel: "silent",
  });
  gateway = await startGateway({ config, drivers: [...DRIVERS, slowMemoryDriver] });
  kv = createPromiseClient(KeyValueService, { address: gateway.address });
  admin = createPromiseClient(AdminService, { address: gateway.address });
  health = createPromiseClient(Health, { address: gateway.address });
}, 30_000);

afterAll(async () => {
  kv?.close();
  admin?.close();
  health?.close();
  await gateway?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const item = (key: string, value: Uint8Array) => ({ key: b(key), value });

describe("authorize", () => {
  it("checks the namespace's access list for each method's action", async () => {
    await expect(kv.get({ namespace: "read-only", id: "r" })).resolves.toMatchObject({ items: [] });
    const denied = await rpcFailure(
      kv.put({ namespace: "read-only", id: "r", items: [item("", b("x"))] }),
      status.PERMISSION_DENIED,
    );
    expect(denied.details).toMatchObject({
      reason: "ACCESS_DENIED",
      metadata: { namespace: "read-only", access: "write" },
    });
    await rpcFailure(kv.delete({ namespace: "read-only", id: "r" }), status.PERMISSION_DENIED);
    await rpcFailure(
      kv.mutate({
        namespace: "read-only",
        id: "r",
        mutations: [{ op: { case: "put", value: item("", b("x")) } }],
      }),
      status.PERMISSION_DENIED,
    );
  });
});

describe("resolve and rate limit", () => {
  it("refuses unknown and empty namespaces before any backend work", async () => {
    const unknown = await rpcFailure(kv.get({ namespace: "nope", id: "x" }), status.NOT_FOUND);
    expect(unknown.details.reason).toBe("NAMESPACE_NOT_FOUND");
    const empty = await rpcFailure(kv.get({ namespace: "", id: "x" }), status.INVALID_ARGUMENT);
    expect(empty.details.reason).toBe("NAMESPACE_REQUIRED");
  });

  it("applies the namespace's rate limit", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => kv.get({ namespace: "limited", id: "x" })),
    );
    const refused = results.filter((r) => r.status === "rejected");
    expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    const failure = await rpcFailure(Promise.reject((refused[0] as PromiseRejectedResult).reason));
    expect(failure).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: { reason: "RATE_LIMITED" } });
  });
});

describe("serve", () => {
  it("serves server streams (health watch) through the same pipeline", async () => {
    const controller = new AbortController();
    const first = await health
      .watch({ service: "prism.keyvalue.v1.KeyValueService" }, { signal: controller.signal })
      [Symbol.asyncIterator]()
      .next();
    controller.abort();
    expect(first.value?.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const list = await health.list({});
    expect(Object.keys(list.statuses)).toEqual(
      expect.arrayContaining(["", "prism.keyvalue.v1.KeyValueService", "prism.admin.v1.AdminService"]),
    );
  });
});

describe("deadlines", () => {
  it("applies the default deadline to calls without one and honours longer client deadlines", async () => {
    // 20 chunked values, assembled four at a time with one 250 ms read each: ~1.5 s in all.
    const items = Array.from({ length: 20 }, (_, i) => item(`v${i}`, new Uint8Array(3000).fill(i)));
    await kv.put({ namespace: "slow", id: "deadline", items });
    // A client deadline above the 1.5 s default (below the 10 s cap) is honoured: one full page.
    const whole = await kv.get({ namespace: "slow", id: "deadline" }, { timeoutMs: 5_000 });
    expect(whole.items).toHaveLength(20);
    expect(whole.nextPageToken).toBe("");
    // Without a deadline the 1.5 s default applies: a short page and a token, not a failure.
    const early = await kv.get({ namespace: "slow", id: "deadline" });
    expect(early.items.length).toBeGreaterThan(0);
    expect(early.items.length).toBeLessThan(20);
    expect(early.nextPageToken).not.toBe("");
    // A deadline too short for even the first read fails as DEADLINE_EXCEEDED.
    await rpcFailure(
      kv.get({ namespace: "slow", id: "deadline" }, { timeoutMs: 10 }),
      status.DEADLINE_EXCEEDED,
    );
  });

  it("answers a Get page early with a token before the deadline, and tokens cover every item once", async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    for (const key of keys) {
      await kv.put({
        namespace: "slow",
        id: "early",
        items: [item(key, new Uint8Array(2500).fill(key.charCodeAt(2)))],
      });
    }
    // Each chunked value costs one 250 ms read, four at a time; 20 of them cannot fit in 1.5 s.
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await kv.get({ namespace: "slow", id: "early", pageToken }, { timeoutMs: 1_500 });
      expect(page.items.length).toBeGreaterThan(0);
      for (const it of page.items) {
        expect(Buffer.from(it.value).equals(Buffer.alloc(2500, s(it.key).charCodeAt(2)))).toBe(true);
        seen.push(s(it.key));
      }
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== "" && pages < 50);
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(keys);
  });

  it("ends a Scan early with a truncated message whose cursor resumes without loss or repeats", async () => {
    for (let i = 0; i < 30; i++) {
      await kv.put({
        namespace: "slow",
        id: `scan-${String(i).padStart(2, "0")}`,
        items: [item("", new Uint8Array(1500).fill(i))],
      });
    }
    const seen: string[] = [];
    let cursor = "";
    let streams = 0;
    let truncated = 0;
    for (;;) {
      streams++;
      let ended = true;
      for await (const message of kv.scan({ namespace: "slow", cursor }, { timeoutMs: 2_000 })) {
        if (message.id.startsWith("scan-")) for (const _ of message.items) seen.push(message.id);
        cursor = message.cursor;
        if (message.truncated) {
          truncated++;
          ended = false;
        }
      }
      if (ended || streams > 100) break;
    }
    expect(truncated).toBeGreaterThan(0);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `scan-${String(i).padStart(2, "0")}`));
  });
});

describe("request bounds", () => {
  it("refuses a request above the receive bound with RESOURCE_EXHAUSTED before decoding it", async () => {
    const failure = await rpcFailure(
      kv.put({ namespace: "open", id: "big", items: [item("", new Uint8Array(3 << 20))] }),
      status.RESOURCE_EXHAUSTED,
    );
    expect(failure.message).toMatch(/larger than max/i);
    await expect(
      kv.put({ namespace: "open", id: "fits", items: [item("", new Uint8Array(900 << 10))] }),
    ).resolves.toBeDefined();
  });

  it("refuses to apply a namespace whose values could not fit in a request", async () => {
    const failure = await rpcFailure(
      admin.applyNamespace({
        spec: {
          case: "yaml",
          value: "name: huge\npattern: keyvalue\nbackend: mem\nlimits: { max_value_bytes: 4194304 }\n",
        },
      }),
      status.INVALID_ARGUMENT,
    );
    expect(failure.message).toMatch(/maxReceiveBytes/);
  });

  it("binds Get page tokens to their namespace", async () => {
    for (const namespace of ["open", "other"]) {
      await kv.put({ namespace, id: "paged", items: ["a", "b", "c"].map((k) => item(k, b(k))) });
    }
    const first = await kv.get({ namespace: "open", id: "paged", pageSizeItems: 1 });
    expect(first.nextPageToken).not.toBe("");
    const failure = await rpcFailure(
      kv.get({ namespace: "other", id: "paged", pageSizeItems: 1, pageToken: first.nextPageToken }),
      status.INVALID_ARGUMENT,
    );
    expect(failure.details.reason).toBe("INVALID_PAGE_TOKEN");
    const second = await kv.get({
      namespace: "open",
      id: "paged",
      pageSizeItems: 1,
      pageToken: first.nextPageToken,
    });
    expect(second.items.map((i) => s(i.key))).toEqual(["b"]);
  });
});
