import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { type ServiceError, status } from "@grpc/grpc-js";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { AdminService, BackfillState, NamespaceSource } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b, s } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";

/**
 * Several gateways on one PostgreSQL config store (DESIGN §1 control path): a namespace applied or
 * deleted through any of them is served or refused by all within a second (LISTEN/NOTIFY), a
 * gateway started later loads it, and a listener connection killed by the server reconnects and
 * catches up with changes it missed; StartBackfill calls racing across them start one job. Each run
 * uses fresh schemas on the stack's PostgreSQL.
 */
const TEST_URL = process.env.PRISM_TEST_POSTGRES_URL ?? "postgres://prism:prism@127.0.0.1:15432/prism";
const SCHEMA = `prism_e2e_cfg_${randomBytes(4).toString("hex")}`;
/** The gateways read the url through an `env:` reference, as production configs do. */
const ENV = { PRISM_E2E_CONFIG_PG_URL: TEST_URL };
const CONFIG = {
  backends: {
    pg: { type: "postgres", url: "env:PRISM_E2E_CONFIG_PG_URL", schema: SCHEMA },
    pg2: { type: "postgres", url: "env:PRISM_E2E_CONFIG_PG_URL", schema: `${SCHEMA}_b` },
  },
  configStore: { type: "postgres", url: "env:PRISM_E2E_CONFIG_PG_URL", schema: SCHEMA },
};
const PROPAGATION_BOUND_MS = 1000;

/** The part of a `pg` client the test uses, for killing listener connections and dropping the schema. */
interface SqlClient {
  connect(): Promise<void>;
  query<R>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
  end(): Promise<void>;
}
/** `pg` as the gateway package depends on it (the tests package does not). */
const { Client } = createRequire(resolve(import.meta.dirname, "../../gateway/package.json"))("pg") as {
  Client: new (options: { connectionString: string; connectionTimeoutMillis: number }) => SqlClient;
};

type Admin = PromiseClient<typeof AdminService.method> & { close(): void };
type Kv = PromiseClient<typeof KeyValueService.method> & { close(): void };
interface Connected {
  gateway: GatewayProcess;
  admin: Admin;
  kv: Kv;
}

async function connect(): Promise<Connected> {
  const gateway = await startGatewayProcess(CONFIG, { env: ENV });
  return {
    gateway,
    admin: createPromiseClient(AdminService, { address: gateway.address }),
    kv: createPromiseClient(KeyValueService, { address: gateway.address }),
  };
}

async function disconnect(connected: Connected | undefined): Promise<void> {
  if (!connected) return;
  connected.admin.close();
  connected.kv.close();
  await connected.gateway.stop();
  removeDataDir(connected.gateway.dataDir);
}

const flat = (value: string) => [{ key: new Uint8Array(), value: b(value) }];
const apply = (admin: Admin, name: string) =>
  admin.applyNamespace({ spec: { case: "yaml", value: `name: ${name}\npattern: keyvalue\nbackend: pg` } });

/** The gRPC code a call ends with (OK when it succeeds). */
const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => status.OK,
    (error: ServiceError) => error.code,
  );

/** Retries `attempt` every 10 ms until it returns true; resolves with the ms it took, rejects past `boundMs`. */
async function within(boundMs: number, attempt: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await attempt()) return Math.round(performance.now() - started);
    if (performance.now() - started > boundMs) throw new Error(`not within ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A Put then a Get of what it wrote, through `kv`; true when both succeed. */
async function serves(kv: Kv, namespace: string, id: string): Promise<boolean> {
  if ((await codeOf(kv.put({ namespace, id, items: flat(`via ${id}`) }))) !== status.OK) return false;
  const { items } = await kv.get({ namespace, id });
  return items.length === 1 && s(items[0]!.value) === `via ${id}`;
}

const shadowed = async (admin: Admin, namespace: string) =>
  (await admin.getNamespace({ name: namespace })).namespace?.shadow?.backend === "pg2";

const refuses = async (kv: Kv, namespace: string) =>
  (await codeOf(kv.get({ namespace, id: "x" }))) === status.NOT_FOUND;

let admin: SqlClient;
const gateways: Connected[] = [];

beforeAll(async () => {
  admin = new Client({ connectionString: TEST_URL, connectionTimeoutMillis: 5000 });
  await admin.connect().catch((error: Error) => {
    throw new Error(`PostgreSQL is not reachable (${error.message}): run \`pnpm stack up\``);
  });
  gateways.push(...(await Promise.all([connect(), connect(), connect()])));
});

afterAll(async () => {
  await Promise.all(gateways.map(disconnect));
  await admin?.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await admin?.query(`DROP SCHEMA IF EXISTS "${SCHEMA}_b" CASCADE`);
  await admin?.end();
});

describe("three gateways on one PostgreSQL config store", () => {
  it("serve a namespace applied through gateway 1 from gateways 2 and 3 within a second", async () => {
    const [g1, g2, g3] = gateways as [Connected, Connected, Connected];
    await rpcFailure(g2.kv.get({ namespace: "shared-kv", id: "a" }), status.NOT_FOUND);

    const applied = await apply(g1.admin, "shared-kv");
    expect(applied).toMatchObject({
      created: true,
      namespace: { version: 1n, source: NamespaceSource.STORE },
    });
    const [ms2, ms3] = await Promise.all([
      within(PROPAGATION_BOUND_MS, () => serves(g2.kv, "shared-kv", "via-2")),
      within(PROPAGATION_BOUND_MS, () => serves(g3.kv, "shared-kv", "via-3")),
    ]);
    console.log(`apply via gateway 1 → served by gateway 2 after ${ms2} ms, gateway 3 after ${ms3} ms`);

    // Same backend behind all three: what one wrote, the others read.
    const { items } = await g1.kv.get({ namespace: "shared-kv", id: "via-3" });
    expect(s(items[0]!.value)).toBe("via via-3");
    expect((await g3.admin.getNamespace({ name: "shared-kv" })).namespace?.version).toBe(1n);
  });

  it("refuse a namespace deleted through gateway 3 on all three within a second", async () => {
    const [g1, g2, g3] = gateways as [Connected, Connected, Connected];
    await apply(g1.admin, "doomed-kv");
    await Promise.all(
      gateways.map((g) => within(PROPAGATION_BOUND_MS, () => serves(g.kv, "doomed-kv", "r"))),
    );

    await g3.admin.deleteNamespace({ name: "doomed-kv" });
    const times = await Promise.all(
      [g1, g2, g3].map((g) => within(PROPAGATION_BOUND_MS, () => refuses(g.kv, "doomed-kv"))),
    );
    console.log(`delete via gateway 3 → refused by gateways 1, 2, 3 after ${times.join(", ")} ms`);
    for (const g of gateways) {
      const failure = await rpcFailure(
        g.kv.put({ namespace: "doomed-kv", id: "r", items: flat("v") }),
        status.NOT_FOUND,
      );
      expect(failure.details.reason).toBe("NAMESPACE_NOT_FOUND");
    }
  });

  it("serve stored namespaces from a gateway started after they were applied", async () => {
    const [g1] = gateways as [Connected];
    await apply(g1.admin, "early-kv");
    const late = await connect();
    gateways.push(late);
    expect(await serves(late.kv, "early-kv", "late")).toBe(true);
    expect((await late.admin.getNamespace({ name: "early-kv" })).namespace?.source).toBe(
      NamespaceSource.STORE,
    );
  });

  it("start exactly one backfill when StartBackfill calls race across them, refusing the rest", async () => {
    const [g1, g2, g3] = gateways as [Connected, Connected, Connected];
    const name = "raced-backfill";
    await apply(g1.admin, name);
    for (let i = 0; i < 100; i++) await g1.kv.put({ namespace: name, id: `r-${i}`, items: flat(`v${i}`) });
    await g1.admin.startShadow({ namespace: name, shadow: { backend: "pg2" } });
    await Promise.all([g2, g3].map((g) => within(5000, () => shadowed(g.admin, name))));
    const answers = await Promise.allSettled(
      [g1, g2, g3, g1, g2, g3].map((g) =>
        g.admin.startBackfill({ namespace: name, maxRecordsPerSecond: 20 }),
      ),
    );
    const started = answers.flatMap((a) => (a.status === "fulfilled" ? [a.value.job!] : []));
    expect(started, "jobs started").toHaveLength(1);
    const winner = started[0]!.id;
    for (const answer of answers) {
      if (answer.status === "fulfilled") continue;
      const refused = await rpcFailure(Promise.reject(answer.reason), status.FAILED_PRECONDITION);
      expect(refused.details).toMatchObject({ reason: "BACKFILL_RUNNING", metadata: { backfill: winner } });
    }
    await g2.admin.cancelBackfill({ id: winner });
    // Once it has ended a start is free again, on any gateway, and continues from its checkpoint.
    let { job } = await g3.admin.startBackfill({ namespace: name, maxRecordsPerSecond: 10_000 });
    expect(job!.resumedFrom).toBe(winner);
    await within(10_000, async () => {
      job = (await g1.admin.getBackfill({ id: job!.id })).job;
      return job!.state !== BackfillState.RUNNING;
    });
    expect(job).toMatchObject({ state: BackfillState.SUCCEEDED, recordsTotal: 100n });
  });

  it("catch up with a change made while their listener connections were killed", async () => {
    const [g1, g2, g3] = gateways as [Connected, Connected, Connected];
    const channel = `prism_config_${SCHEMA}`;
    const listening = async () =>
      (
        await admin.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'prism:config-listener' AND query = $1",
          [`LISTEN "${channel}"`],
        )
      ).rows.map((row) => row.pid);
    expect((await listening()).length).toBe(gateways.length);

    // Kill every listener, wait until their backends are gone, and change the store before they
    // reconnect (their first retry is 250 ms later). Should a slow machine let one back in before
    // the change committed, that round proves nothing: go again with another namespace.
    let name = "";
    for (let round = 1; ; round++) {
      const pids = await listening();
      await admin.query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", [pids]);
      await within(5000, async () => {
        const alive = await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1)", [pids]);
        return alive.rows.length === 0;
      });
      name = `after-outage-${round}`;
      await apply(g1.admin, name);
      // The change committed while nobody listened: its NOTIFY reached no one.
      if ((await listening()).length === 0) break;
      expect(round, "listeners came back before the change every time").toBeLessThan(3);
    }

    const times = await Promise.all([g2, g3].map((g) => within(5000, () => serves(g.kv, name, "back"))));
    console.log(
      `listeners killed, change applied while they were down → served by gateways 2, 3 after ` +
        `${times.join(", ")} ms (reconnect after 250 ms, then reload; the safety poll is 10 s)`,
    );
    for (const g of [g2, g3]) expect(g.gateway.output()).toContain("config store listener reconnected");
    expect((await listening()).length).toBe(gateways.length);

    // Listening again: the next change arrives by NOTIFY, within the usual bound.
    await g2.admin.deleteNamespace({ name });
    await Promise.all([g1, g3].map((g) => within(PROPAGATION_BOUND_MS, () => refuses(g.kv, name))));
  });
});
