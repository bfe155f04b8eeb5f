import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import type { Backend, GetResult, KvItem } from "@prism/core";
import { b } from "@prism/core/conformance";
import { Client } from "pg";
import { postgresDriver } from "./postgres-driver.js";

/**
 * The PostgreSQL server the package's tests run against: the repo's local stack unless
 * `PRISM_TEST_POSTGRES_URL` names another. This file is test support: only tests import it.
 */
export const TEST_URL = process.env.PRISM_TEST_POSTGRES_URL ?? "postgres://prism:prism@127.0.0.1:15432/prism";

/** Where the server is, for messages: host, port and database, never credentials. */
function where(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
}

/**
 * Opens a backend on the test server; a server that is not there fails the test with a hint.
 *
 * @example const backend = await openTestBackend({ schema: "prism_t_1234" })
 */
export async function openTestBackend(
  options: Record<string, unknown> = {},
  name = "pg-test",
): Promise<Backend> {
  const backend = await postgresDriver.open({
    name,
    options: { url: TEST_URL, ...options },
    dataDir: tmpdir(),
  });
  const report = await backend.health(AbortSignal.timeout(5000));
  if (!report.ok) {
    await backend.close();
    throw new Error(
      `PostgreSQL is not reachable at ${where(TEST_URL)} (${report.message}). ` +
        "Start the local stack with `pnpm stack up`, or set PRISM_TEST_POSTGRES_URL to a running server.",
    );
  }
  return backend;
}

/**
 * A direct connection for checks the backend API cannot make (physical rows, locks).
 *
 * @example const admin = await adminClient()
 */
export async function adminClient(): Promise<Client> {
  const client = new Client({ connectionString: TEST_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  return client;
}

/**
 * A loopback port nothing listens on.
 *
 * @example const url = `postgres://u:p@127.0.0.1:${await closedPort()}/db`
 */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A fresh schema name, so tests that lock or drop tables never see each other. */
export const freshSchema = (): string => `prism_t_${randomBytes(4).toString("hex")}`;

/**
 * Settles to the error `promise` rejects with; throws when it resolves.
 *
 * @example expect(isPrismError(await rejection(kv.get(...)), "Cancelled")).toBe(true)
 */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/**
 * An item whose value is `bytes` copies of the key's first character (optional fields as given).
 *
 * @example sizedItem("a", 100, { expiresAt: Date.now() + 1000 })
 */
export function sizedItem(key: string, bytes: number, extra: Partial<KvItem> = {}): KvItem {
  return { key: b(key), value: new Uint8Array(bytes).fill(key.charCodeAt(0)), ...extra };
}

/**
 * A page as plain data for deep comparison: bytes as hex, optional fields only when set.
 *
 * @example expect(plainPage(await kv.get(...))).toEqual(plainPage({ items: [item], more: false }))
 */
export function plainPage(result: GetResult) {
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
  return {
    items: result.items.map((i) => ({ ...i, key: hex(i.key), value: hex(i.value) })),
    more: result.more,
  };
}
