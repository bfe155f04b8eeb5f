import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { status } from "@grpc/grpc-js";
import { createPromiseClient } from "@prism/proto/grpc";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { stackEndpoints } from "@prism/stack";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";
import { type StallingProxy, startStallingProxy } from "../support/stalling-proxy.js";

/**
 * Retries and hedged reads through the gateway process against the stack's real PostgreSQL:
 * - the database drops the gateway's connections under load (`pg_terminate_backend`, what a
 *   failover or a restarted pooler does): with retries, 0 failed calls; with retries off, the
 *   same faults fail calls (so the test would notice retries not working);
 * - one read at a time is held back 1 s on its way to the database (a proxy between gateway and
 *   PostgreSQL): a namespace with `hedge:` answers from its second read, one without waits.
 */
const { Client } = createRequire(resolve(import.meta.dirname, "../../gateway/package.json"))("pg") as {
  Client: new (options: {
    connectionString: string;
  }) => {
    connect(): Promise<void>;
    query(text: string, values?: unknown[]): Promise<{ rows: { terminated: boolean }[] }>;
    end(): Promise<void>;
  };
};

const run = randomBytes(3).toString("hex");
const { postgresUrl } = stackEndpoints();
type KvClient = ReturnType<typeof createPromiseClient<typeof KeyValueService.method>>;
let admin: InstanceType<typeof Client>;
let proxy: StallingProxy;
const gateways: GatewayProcess[] = [];
const clients: KvClient[] = [];

/** A gateway with one PostgreSQL backend `name` (its connections say `prism:NAME`) and `retries`. */
async function gatewayWith(name: string, retries: object, extra: Record<string, unknown> = {}) {
  const gateway = await startGatewayProcess(
    {
      backends: {
        [name]: { type: "postgres", url: "env:PRISM_TEST_POSTGRES_URL", schema: name.replaceAll("-", "_") },
        ...extra,
      },
      namespaces: [{ name: "orders", pattern: "keyvalue", backend: name }],
      retries,
    },
    { env: { PRISM_TEST_POSTGRES_URL: postgresUrl } },
  );
  gateways.push(gateway);
  const kv = createPromiseClient(KeyValueService, { address: gateway.address });
  clients.push(kv);
  return { gateway, kv };
}

async function scrape(gateway: GatewayProcess, family: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://${await gateway.metricsAddress()}/metrics`)).text();
  const found = parsePrometheusTextFormat(text).find((f) => f.name === family);
  return new Map(
    (found?.metrics ?? []).map((m) => [Object.values(m.labels ?? {}).join(","), Number(m.value)] as const),
  );
}

/**
 * `workers` callers reading `orders` back to back for `ms` while every connection of backend
 * `name` is terminated every 150 ms. Returns the calls made and those that failed.
 */
async function readsWhileConnectionsDrop(kv: KvClient, name: string, ms: number) {
  const until = Date.now() + ms;
  let calls = 0;
  const failures: string[] = [];
  const reader = async (worker: number) => {
    for (let i = 0; Date.now() < until; i++) {
      calls++;
      await kv.get({ namespace: "orders", id: `order-${(worker * 31 + i) % 50}` }).catch((error: Error) => {
        failures.push(error.message);
      });
    }
  };
  let terminated = 0;
  const terminator = async () => {
    while (Date.now() < until) {
      const { rows } = await admin.query(
        "SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name = $1",
        [`prism:${name}`],
      );
      terminated += rows.filter((row) => row.terminated).length;
      await new Promise((done) => setTimeout(done, 150));
    }
  };
  await Promise.all([terminator(), ...Array.from({ length: 8 }, (_, worker) => reader(worker))]);
  return { calls, failures, terminated };
}

beforeAll(async () => {
  admin = new Client({ connectionString: postgresUrl });
  await admin.connect();
  const upstream = new URL(postgresUrl);
  proxy = await startStallingProxy(`${upstream.hostname}:${upstream.port}`);
}, 30_000);

afterAll(async () => {
  for (const client of clients) client.close();
  for (const gateway of gateways) {
    await gateway.stop();
    removeDataDir(gateway.dataDir);
  }
  await proxy?.close();
  await admin?.end();
});

describe("retries", () => {
  it("serves every call while the database drops the gateway's connections under load", async () => {
    const name = `retry-on-${run}`;
    const { gateway, kv } = await gatewayWith(name, { maxAttempts: 3, backoffMs: 10, minPerSecond: 200 });
    for (let i = 0; i < 50; i++)
      await kv.put({ namespace: "orders", id: `order-${i}`, items: [{ key: b("k"), value: b("v") }] });

    const { calls, failures, terminated } = await readsWhileConnectionsDrop(kv, name, 3000);
    expect(terminated).toBeGreaterThan(5);
    expect(calls).toBeGreaterThan(50);
    expect(failures).toEqual([]);
    const retried = await scrape(gateway, "prism_backend_retries_total");
    expect(retried.get(`${name},retried`)).toBeGreaterThan(0);
  }, 60_000);

  it("fails calls under the same faults with retries off (the faults reach calls in flight)", async () => {
    const name = `retry-off-${run}`;
    const { kv } = await gatewayWith(name, { maxAttempts: 1 });
    for (let i = 0; i < 50; i++)
      await kv.put({ namespace: "orders", id: `order-${i}`, items: [{ key: b("k"), value: b("v") }] });

    const { failures } = await readsWhileConnectionsDrop(kv, name, 3000);
    expect(failures.length).toBeGreaterThan(0);
    expect(
      failures.every((message) => message.includes("UNAVAILABLE") || message.includes("unavailable")),
    ).toBe(true);
  }, 60_000);
});

describe("hedged reads", () => {
  it("answers a read held back at the database from its second read; without hedge: the whole wait", async () => {
    const name = `hedge-${run}`;
    const url = new URL(postgresUrl);
    url.host = proxy.address;
    const gateway = await startGatewayProcess(
      {
        backends: {
          [name]: { type: "postgres", url: "env:PRISM_TEST_POSTGRES_URL", schema: name.replaceAll("-", "_") },
        },
        namespaces: [
          { name: "plain", pattern: "keyvalue", backend: name },
          { name: "hedged", pattern: "keyvalue", backend: name, hedge: { after_ms: 50, max_ratio: 0.5 } },
        ],
      },
      { env: { PRISM_TEST_POSTGRES_URL: url.toString() } },
    );
    gateways.push(gateway);
    const kv = createPromiseClient(KeyValueService, { address: gateway.address });
    clients.push(kv);
    for (const namespace of ["plain", "hedged"])
      for (let i = 0; i < 4; i++)
        await kv.put({
          namespace,
          id: `slow-${namespace}-${i}`,
          items: [{ key: b("k"), value: b(namespace) }],
        });

    // From now on the first query naming each slow-… id waits 1 s before PostgreSQL sees it.
    proxy.stallFirst(/slow-[a-z]+-\d+/, 1000);
    const timed = async (namespace: string, i: number) => {
      const started = performance.now();
      const answer = await kv.get({ namespace, id: `slow-${namespace}-${i}` });
      expect(Buffer.from(answer.items[0]!.value).toString()).toBe(namespace);
      return performance.now() - started;
    };
    const plain: number[] = [];
    const hedged: number[] = [];
    // One read at a time: each is a query of its own (no batching with another id).
    for (let i = 0; i < 4; i++) {
      plain.push(await timed("plain", i));
      hedged.push(await timed("hedged", i));
    }
    expect(proxy.stalled()).toBe(8);
    // The held-back read is what the caller waits for without hedging…
    expect(Math.min(...plain)).toBeGreaterThanOrEqual(950);
    // …and not with it (the second read went out after 50 ms; a second of margin for a busy machine).
    expect(Math.max(...hedged)).toBeLessThan(900);
    const counts = await scrape(gateway, "prism_hedged_reads_total");
    expect(counts.get("hedged,won")).toBe(4);
    expect(counts.get("hedged,sent")).toBeGreaterThanOrEqual(4);
    expect(counts.has("plain,sent")).toBe(false);
  }, 60_000);

  it("refuses a namespace whose hedge: setting is out of range or unknown, naming the field", async () => {
    const gateway = gateways.at(-1)!;
    const adminApi = createPromiseClient(AdminService, { address: gateway.address });
    try {
      const refused = async (hedge: string) => {
        const failure = await rpcFailure(
          adminApi.applyNamespace({
            spec: {
              case: "yaml",
              value: `name: bad-hedge\npattern: keyvalue\nbackend: hedge-${run}\nhedge: ${hedge}\n`,
            },
          }),
          status.INVALID_ARGUMENT,
        );
        expect(failure.details.reason).toBe("INVALID_NAMESPACE");
        return failure.message;
      };
      expect(await refused("{ after_ms: 0 }")).toMatch(/hedge\.after_ms/);
      expect(await refused("{ after_ms: 50, max_ratio: 2 }")).toMatch(/hedge\.max_ratio/);
      expect(await refused("{ after_ms: 50, ratio: 0.5 }")).toMatch(/hedge.*ratio/);
      expect(await refused("{ max_ratio: 0.5 }")).toMatch(/hedge\.after_ms/);
      // Nothing was applied: the namespace does not exist.
      const missing = await rpcFailure(adminApi.getNamespace({ name: "bad-hedge" }), status.NOT_FOUND);
      expect(missing.details.reason).toBe("NAMESPACE_NOT_FOUND");
    } finally {
      adminApi.close();
    }
  });
});
