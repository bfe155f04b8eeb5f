import { tmpdir } from "node:os";
import { isPrismError, PrismError } from "@prism/core";
import { b, freshNamespace, keyValueConformance } from "@prism/core/conformance";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresDriver } from "./index.js";
import { SCHEMA_VERSION } from "./schema.js";
import {
  adminClient,
  closedPort,
  freshSchema,
  openTestBackend,
  rejection,
  TEST_URL,
} from "./test-support.js";

/** A password that must never show up in any error, message or report. */
const SECRET = "pw-Sekr1t-0xC0FFEE";
const ALL = { limitItems: 1000, limitBytes: 1 << 20 };

/** Every client-visible text of an error. */
function visible(error: unknown): string {
  if (!(error instanceof PrismError)) return String(error);
  const { message, reason, metadata } = error;
  return JSON.stringify({ message, reason, metadata, s: `${error}` });
}

// Its own test, so a missing server is a failed test with the hint, not only failed hooks.
it("reaches the PostgreSQL test server", async () => {
  await (await openTestBackend()).close();
});

keyValueConformance({ name: "postgres", open: () => openTestBackend() });

describe("postgres backend", () => {
  let admin: Client;
  const schemas: string[] = [];
  const schema = () => {
    const name = freshSchema();
    schemas.push(name);
    return name;
  };

  beforeAll(async () => {
    // Fails (never skips) without a server, with the same hint as the conformance suite.
    await (await openTestBackend()).close();
    admin = await adminClient();
  });
  afterAll(async () => {
    for (const name of schemas) await admin?.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    await admin?.end();
  });

  it("creates its schema idempotently, also when gateways open it concurrently", async () => {
    const name = schema();
    const opened = await Promise.all([1, 2, 3].map(() => openTestBackend({ schema: name })));
    const again = await openTestBackend({ schema: name });
    const { rows } = await admin.query(`SELECT version FROM "${name}".schema_version ORDER BY version`);
    expect(rows).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
    const ns = freshNamespace();
    await opened[0]!.keyvalue!.put(ns, "r", [{ key: b("k"), value: b("v") }], {});
    expect((await again.keyvalue!.get(ns, "r", { kind: "all" }, ALL)).items).toHaveLength(1);
    await Promise.all([...opened, again].map((backend) => backend.close()));
  });

  it("reports every option problem at once, without echoing the url", async () => {
    const problems = postgresDriver.validate({
      url: `mysql://prism:${SECRET}@db/prism`,
      poolSize: 0,
      schema: "Robert'); DROP TABLE",
      sweepIntervalMs: "often",
      connectTimeoutMs: 1.5,
      pool_size: 5,
    });
    expect(problems.map((problem) => problem.split(":")[0])).toEqual([
      "pool_size",
      "url",
      "schema",
      "poolSize",
      "sweepIntervalMs",
      "connectTimeoutMs",
    ]);
    expect(problems.join("\n")).not.toContain(SECRET);
    expect(postgresDriver.validate({})).toEqual(["url: required"]);
    expect(postgresDriver.validate({ url: "env:PRISM_PG_URL" })).toEqual([]);
    const error = await rejection(
      postgresDriver.open({ name: "pg-bad", options: { poolSize: -1 }, dataDir: "" }),
    );
    expect(isPrismError(error, "InvalidArgument")).toBe(true);
    expect((error as Error).message).toMatch(/url: required.*poolSize/);
  });

  it("fails calls fast as Unavailable when the server is unreachable; health says so without throwing", async () => {
    const url = `postgres://prism:${SECRET}@127.0.0.1:${await closedPort()}/prism`;
    const backend = await postgresDriver.open({
      name: "pg-down",
      options: { url, connectTimeoutMs: 500 },
      dataDir: tmpdir(),
    });
    const started = Date.now();
    const error = await rejection(backend.keyvalue!.get("ns", "r", { kind: "all" }, ALL));
    // A refused connection fails at once; this only rules out waiting on a default connect timeout.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isPrismError(error, "Unavailable"), String(error)).toBe(true);
    expect((error as Error).message).toBe("backend pg-down is unavailable");
    const write = await rejection(backend.keyvalue!.put("ns", "r", [{ key: b("k"), value: b("v") }], {}));
    expect(isPrismError(write, "Unavailable")).toBe(true);
    const report = await backend.health(AbortSignal.timeout(2000));
    expect(report).toMatchObject({ ok: false, message: "backend pg-down is unavailable" });
    await backend.close();
    await backend.close();
    const closed = await rejection(backend.keyvalue!.get("ns", "r", { kind: "all" }, ALL));
    expect(isPrismError(closed, "Unavailable")).toBe(true);
  });

  it("never shows a credential in an error or health message", async () => {
    const secretUrl = (database = "prism") => {
      const url = new URL(TEST_URL);
      url.password = SECRET;
      url.pathname = `/${database}`;
      return url.toString();
    };
    const texts: string[] = [];
    const open = (options: Record<string, unknown>) =>
      postgresDriver.open({
        name: "pg-secret",
        options: { connectTimeoutMs: 1000, ...options },
        dataDir: "",
      });
    // A database that does not exist fails at open whatever the server's auth method.
    const missing = await rejection(open({ url: secretUrl("prism_no_such_database") }));
    expect(isPrismError(missing, "Internal"), String(missing)).toBe(true);
    texts.push(visible(missing));
    // Wrong password: fails at open, unless the server trusts loopback connections.
    try {
      const backend = await open({ url: secretUrl() });
      texts.push(JSON.stringify(await backend.health(AbortSignal.timeout(2000))));
      await backend.close();
    } catch (error) {
      texts.push(visible(error));
    }
    const down = await open({ url: `postgres://prism:${SECRET}@127.0.0.1:${await closedPort()}/prism` });
    texts.push(visible(await rejection(down.keyvalue!.scan("ns", ALL))));
    texts.push(JSON.stringify(await down.health(AbortSignal.timeout(2000))));
    await down.close();
    const unset = await rejection(open({ url: "env:PRISM_TEST_UNSET_VARIABLE_FOR_PG" }));
    expect(isPrismError(unset, "FailedPrecondition")).toBe(true);
    texts.push(visible(unset));
    process.env.PRISM_TEST_PG_BAD_URL = `mysql://prism:${SECRET}@db/prism`;
    texts.push(visible(await rejection(open({ url: "env:PRISM_TEST_PG_BAD_URL" }))));
    expect(texts.join("\n")).not.toContain(SECRET);
  });

  it("resolves the url from env:NAME at open", async () => {
    process.env.PRISM_TEST_PG_URL = TEST_URL;
    const backend = await openTestBackend({ url: "env:PRISM_TEST_PG_URL" });
    expect((await backend.health(AbortSignal.timeout(5000))).ok).toBe(true);
    await backend.close();
  });

  it("round-trips expiresAt to the millisecond", async () => {
    const backend = await openTestBackend();
    const ns = freshNamespace();
    const now = Date.now();
    const times = [now + 60_001, now + 60_999, now + 86_400_001, Date.UTC(2099, 11, 31, 23, 59, 59, 999)];
    const keys = times.map((_, i) => b(`k${i}`));
    await backend.keyvalue!.put(
      ns,
      "r",
      times.map((expiresAt, i) => ({ key: keys[i]!, value: b("v"), expiresAt })),
      {},
    );
    const { items } = await backend.keyvalue!.get(ns, "r", { kind: "all" }, ALL);
    expect(items.map((item) => item.expiresAt)).toEqual(times);
    await backend.close();
  });

  it("sweeps expired items and forgotten idempotency keys physically", async () => {
    const name = schema();
    const backend = await openTestBackend({ schema: name, sweepIntervalMs: 100 });
    const ns = freshNamespace();
    await backend.keyvalue!.put(
      ns,
      "r",
      [
        { key: b("gone"), value: b("v"), expiresAt: Date.now() + 50 },
        { key: b("kept"), value: b("v") },
      ],
      {},
    );
    await admin.query(
      `INSERT INTO "${name}".kv_idempotency VALUES ($1, 'old', now() - interval '1 minute'), ($1, 'new', now() + interval '1 hour')`,
      [ns],
    );
    const count = async (table: string) =>
      Number((await admin.query(`SELECT count(*) AS n FROM "${name}".${table}`)).rows[0].n);
    await expect.poll(() => count("kv_items"), { timeout: 5000, interval: 100 }).toBe(1);
    await expect.poll(() => count("kv_idempotency"), { timeout: 5000, interval: 100 }).toBe(1);
    await backend.close();
  });

  it("a deadline cancels a statement on the server: a write blocked on a lock never applies", async () => {
    const backend = await openTestBackend({}, "pg-abort");
    const ns = freshNamespace();
    const blocker = await adminClient();
    try {
      await blocker.query("BEGIN");
      await blocker.query(
        "INSERT INTO prism.kv_items (namespace, id, key, value) VALUES ($1, 'r', $2, 'held')",
        [ns, Buffer.from("k")],
      );
      const started = Date.now();
      const signal = AbortSignal.timeout(300);
      const error = await rejection(
        backend.keyvalue!.put(ns, "r", [{ key: b("k"), value: b("mine") }], { signal }),
      );
      expect(isPrismError(error, "DeadlineExceeded"), String(error)).toBe(true);
      // Not held until the lock is released (only ROLLBACK below would release it).
      expect(Date.now() - started).toBeLessThan(5_000);
      // Give a cancel time to land before the lock is released.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await blocker.query("ROLLBACK");
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await backend.keyvalue!.get(ns, "r", { kind: "all" }, ALL)).items).toEqual([]);
      // The pool dropped the cancelled connection and still serves.
      await backend.keyvalue!.put(ns, "r", [{ key: b("k"), value: b("after") }], {});
      expect((await backend.keyvalue!.get(ns, "r", { kind: "all" }, ALL)).items).toHaveLength(1);
    } finally {
      await blocker.end();
      await backend.close();
    }
  });

  it("survives its connections being killed, as in a server restart", async () => {
    const backend = await openTestBackend({}, "pg-restart");
    const kv = backend.keyvalue!;
    const ns = freshNamespace();
    // Fill the pool with several idle connections.
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => kv.put(ns, `r${i}`, [{ key: b("k"), value: b("v") }], {})),
    );
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'prism:pg-restart'",
    );
    expect(killed.rowCount).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await kv.get(ns, "r0", { kind: "all" }, ALL)).items).toHaveLength(1);
    expect((await backend.health(AbortSignal.timeout(2000))).ok).toBe(true);
    await backend.close();
  });
});
