import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { isPrismError } from "@prism/core";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigStore, StoreLogger } from "./config-store.js";
import { configStoreContract, spec, until } from "./config-store-contract.js";
import { LISTENER_APPLICATION_NAME, PostgresConfigStore } from "./postgres-config-store.js";

/** The stack's PostgreSQL unless PRISM_TEST_POSTGRES_URL names another. */
const TEST_URL = process.env.PRISM_TEST_POSTGRES_URL ?? "postgres://prism:prism@127.0.0.1:15432/prism";
const SECRET = "pw-Sekr1t-0xC0FFEE";

const logged: string[] = [];
const logger: StoreLogger = {
  info: (_fields, message) => logged.push(message),
  warn: (_fields, message) => logged.push(message),
};

const schemas: string[] = [];
const freshSchema = () => {
  const schema = `prism_cfg_t_${randomBytes(4).toString("hex")}`;
  schemas.push(schema);
  return schema;
};
const open = (schema = freshSchema()) =>
  PostgresConfigStore.open({ url: TEST_URL, schema }, logger, { reconnectMinMs: 300 });

let admin: Client;
beforeAll(async () => {
  admin = new Client({ connectionString: TEST_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (error) {
    const { hostname, port, pathname } = new URL(TEST_URL);
    throw new Error(
      `PostgreSQL is not reachable at ${hostname}:${port}${pathname} (${(error as Error).message}): ` +
        "run `pnpm stack up`, or set PRISM_TEST_POSTGRES_URL to a running server.",
    );
  }
});
afterAll(async () => {
  for (const schema of schemas) await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin?.end();
});

// Its own test, so a missing server is a failed test with the hint, not only failed hooks.
it("reaches the PostgreSQL test server", async () => {
  expect((await admin.query("SELECT 1 AS one")).rows[0].one).toBe(1);
});

configStoreContract(
  "postgres",
  () => open(),
  (store) => open((store as PostgresConfigStore).schema),
);

describe("PostgresConfigStore", () => {
  const stores: ConfigStore[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });
  const tracked = async (store: Promise<PostgresConfigStore>) => {
    stores.push(await store);
    return stores.at(-1) as PostgresConfigStore;
  };
  /** Backend pids LISTENing on `store`'s channel. */
  const listeners = async (store: PostgresConfigStore) =>
    (
      await admin.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query = $2",
        [LISTENER_APPLICATION_NAME, `LISTEN "${store.channel}"`],
      )
    ).rows.map((row) => row.pid);

  it("creates its schema once when several gateways open a fresh one at the same time", async () => {
    const schema = freshSchema();
    const [a, b, c] = await Promise.all([
      tracked(open(schema)),
      tracked(open(schema)),
      tracked(open(schema)),
    ]);
    await a!.put(spec("one"));
    expect((await b!.get("one"))?.version).toBe(1);
    expect(await c!.generation()).toBe(1);
  });

  it("picks up a change made while its listener was disconnected, after reconnecting", async () => {
    const schema = freshSchema();
    const writer = await tracked(open(schema));
    const [writerPid] = await listeners(writer);
    const watcher = await tracked(open(schema));
    let heard = 0;
    watcher.watch(() => {
      heard++;
    });
    const pid = (await listeners(watcher)).find((candidate) => candidate !== writerPid);
    expect(pid).toBeDefined();
    // Kill only the watcher's listener, and wait until its backend is gone.
    await admin.query("SELECT pg_terminate_backend($1, 5000)", [pid]);
    await writer.put(spec("while-away"));
    // The NOTIFY went nowhere: nobody on the watcher's side listens until it reconnects.
    expect(heard).toBe(0);
    await until(() => heard > 0, 5000);
    expect((await watcher.get("while-away"))?.version).toBe(1);
    expect(logged).toContain("config store listener lost; reconnecting");
    expect(logged).toContain("config store listener reconnected");
    expect((await listeners(watcher)).length).toBe(2);

    // And it listens again: the next change arrives by NOTIFY.
    heard = 0;
    await writer.delete("while-away");
    await until(() => heard > 0, 1000);
  });

  it("keeps queries working through the pool when the listener is gone", async () => {
    const store = await tracked(open());
    for (const pid of await listeners(store))
      await admin.query("SELECT pg_terminate_backend($1, 5000)", [pid]);
    await store.put(spec("still-works"));
    expect((await store.get("still-works"))?.version).toBe(1);
  });

  it("reads the url from env:NAME, and names the variable (never a url) when it is missing", async () => {
    const variable = `PRISM_TEST_CFG_URL_${randomBytes(3).toString("hex").toUpperCase()}`;
    process.env[variable] = TEST_URL;
    try {
      const store = await tracked(
        PostgresConfigStore.open({ url: `env:${variable}`, schema: freshSchema() }, logger),
      );
      expect(await store.generation()).toBe(0);
    } finally {
      delete process.env[variable];
    }
    const missing = await PostgresConfigStore.open({ url: `env:${variable}`, schema: "prism" }, logger).catch(
      (error: unknown) => error,
    );
    expect(isPrismError(missing, "FailedPrecondition")).toBe(true);
    expect((missing as Error).message).toContain(variable);
  });

  it("fails to open as Unavailable on an unreachable server, without the password in the message", async () => {
    const url = `postgres://prism:${SECRET}@127.0.0.1:${await closedPort()}/prism`;
    const error = await PostgresConfigStore.open({ url, schema: "prism" }, logger, {
      connectTimeoutMs: 1000,
    }).catch((error: unknown) => error);
    expect(isPrismError(error, "Unavailable")).toBe(true);
    expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain(SECRET);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
