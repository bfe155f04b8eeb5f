import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteFile } from "../config/sqlite-connection.js";
import { AuditLog } from "./audit-log.js";
import { type AuditStore, SqliteAuditStore } from "./audit-store.js";
import type { AuditRecord } from "./contract.js";
import { DataKeys } from "./data-keys.js";
import { type KeyStore, SqliteKeyStore } from "./key-store.js";
import { Keyring } from "./keyring.js";
import { openPostgresPiiStores } from "./postgres-pii-store.js";

/** The stack's PostgreSQL unless PRISM_TEST_POSTGRES_URL names another. */
const PG_URL = process.env.PRISM_TEST_POSTGRES_URL ?? "postgres://prism:prism@127.0.0.1:15432/prism";

/** One gateway's view of the shared store; `sql` runs statements as an attacker with database access would. */
interface Peer {
  keys: KeyStore;
  audit: AuditStore;
  close(): Promise<void>;
}
interface Place {
  open(): Promise<Peer>;
  sql(statement: string): Promise<void>;
  /** Table names as the place's SQL sees them. */
  table(name: string): string;
  cleanup(): Promise<void>;
}

function sqlitePlace(): Place {
  const dir = mkdtempSync(join(tmpdir(), "prism-pii-"));
  const file = join(dir, "config.db");
  return {
    async open() {
      const db = openSqliteFile(file);
      return {
        keys: new SqliteKeyStore(db),
        audit: new SqliteAuditStore(db),
        close: async () => void db.close(),
      };
    },
    async sql(statement) {
      const db = new Database(file);
      db.exec(statement);
      db.close();
    },
    table: (name) => name,
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function postgresPlace(admin: () => Client): Place {
  const schema = `prism_pii_t_${randomBytes(4).toString("hex")}`;
  return {
    open: () => openPostgresPiiStores({ url: PG_URL, schema }),
    sql: async (statement) => void (await admin().query(statement)),
    table: (name) => `"${schema}".${name}`,
    cleanup: async () => void (await admin().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)),
  };
}

let admin: Client;
beforeAll(async () => {
  admin = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable (${(error as Error).message}): run \`pnpm stack up\``);
  }
});
afterAll(async () => admin?.end());

const keyring = Keyring.parse(randomBytes(32).toString("base64"), "test");
const record = (i: number, namespace = "users", principal = "user:jane"): AuditRecord => ({
  principal,
  namespace,
  id: `u-${i}`,
  fields: ["email", "phone", "email"],
  operation: i % 2 === 0 ? "read" : "write",
});

describe.each([
  ["sqlite", () => sqlitePlace()],
  ["postgres", () => postgresPlace(() => admin)],
] as const)("PII stores on %s", (_name, makePlace) => {
  let place: Place;
  const peers: Peer[] = [];
  const peer = async () => {
    const opened = await place.open();
    peers.push(opened);
    return opened;
  };
  beforeAll(() => {
    place = makePlace();
  });
  afterAll(async () => {
    for (const p of peers) await p.close();
    await place.cleanup();
  });

  it("makes one first key per namespace when several gateways race, and rotates to one new key", async () => {
    const gateways = await Promise.all([peer(), peer(), peer()]);
    const keys = gateways.map((g) => new DataKeys(keyring, g.keys, { currentKeyTtlMs: 0 }));
    const first = await Promise.all(keys.flatMap((k) => [k.current("ns-a"), k.current("ns-a")]));
    expect(new Set(first.map((k) => k.id)).size).toBe(1);
    expect(await gateways[0]!.keys.list("ns-a")).toHaveLength(1);

    const rotations = await Promise.all(keys.map((k) => k.rotate("ns-a")));
    const stored = await gateways[0]!.keys.list("ns-a");
    // Every racing rotation made or adopted a key newer than the first; none forked a generation.
    expect(new Set(stored.map((k) => k.generation)).size).toBe(stored.length);
    for (const { current } of rotations) expect(current.id).not.toBe(first[0]!.id);
    const current = await keys[1]!.current("ns-a");
    expect(current.id).toBe(stored[0]!.id);
    expect((await keys[2]!.get("ns-a", first[0]!.id)).key.export()).toEqual(first[0]!.key.export());
    expect(rotations.at(-1)!.previous).toContain(first[0]!.id);
    // Stored wrapped: the row never holds the key.
    const wrapped = Buffer.from(stored.at(-1)!.wrapped);
    expect(wrapped.includes(first[0]!.key.export())).toBe(false);
  });

  it("a namespace's key does not open as another's", async () => {
    const { keys: store } = await peer();
    const keys = new DataKeys(keyring, store);
    const a = await keys.current("ns-b");
    await expect(keys.get("ns-c", a.id)).rejects.toMatchObject({ reason: "DATA_KEY_UNAVAILABLE" });
    await expect(new DataKeys(undefined, store).current("ns-new")).rejects.toMatchObject({
      reason: "KEYRING_NOT_CONFIGURED",
    });
  });

  it("keeps one linear chain under concurrent appenders from several gateways, then detects tampering", async () => {
    const logs = (await Promise.all([peer(), peer(), peer()])).map((g) => new AuditLog(g.audit));
    const appends = logs.flatMap((log, g) =>
      Array.from({ length: 40 }, (_, i) => log.append(record(i, `ns-${g}`, `user:u${i % 3}`))),
    );
    await Promise.all(appends);
    const log = logs[0]!;
    expect(await log.verify()).toEqual({ ok: true, checked: 120, firstBadSeq: 0, problem: "" });
    const all = await log.store.query({}, 0, 1000);
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(all[0]!.fields).toEqual(["email", "phone"]);

    // Query: filters and page tokens bound to them.
    const page1 = await log.query({ namespace: "ns-1", principal: "user:u0" }, 5, "");
    expect(page1.entries).toHaveLength(5);
    expect(page1.entries.every((e) => e.namespace === "ns-1" && e.principal === "user:u0")).toBe(true);
    const page2 = await log.query({ namespace: "ns-1", principal: "user:u0" }, 5, page1.nextPageToken);
    expect(page2.entries[0]!.seq).toBeGreaterThan(page1.entries.at(-1)!.seq);
    const seen = [...page1.entries, ...page2.entries].length;
    const page3 = await log.query({ namespace: "ns-1", principal: "user:u0" }, 100, page2.nextPageToken);
    expect(seen + page3.entries.length).toBe(14); // i % 3 === 0 for i < 40
    expect(page3.nextPageToken).toBe("");
    await expect(log.query({ namespace: "ns-2" }, 5, page1.nextPageToken)).rejects.toMatchObject({
      reason: "INVALID_PAGE_TOKEN",
    });
    const since = all[60]!.time;
    const recent = await log.query({ since }, 1000, "");
    expect(recent.entries.every((e) => e.time >= since)).toBe(true);

    // An altered field of entry 37.
    await place.sql(`UPDATE ${place.table("pii_audit")} SET fields = '["ssn"]' WHERE seq = 37`);
    expect(await log.verify()).toMatchObject({ ok: false, checked: 36, firstBadSeq: 37 });
    await place.sql(
      `UPDATE ${place.table("pii_audit")} SET fields = '${JSON.stringify(all[36]!.fields)}' WHERE seq = 37`,
    );
    expect((await log.verify()).ok).toBe(true);
    // An altered principal.
    await place.sql(`UPDATE ${place.table("pii_audit")} SET principal = 'user:mallory' WHERE seq = 80`);
    expect(await log.verify()).toMatchObject({ ok: false, firstBadSeq: 80 });
    await place.sql(
      `UPDATE ${place.table("pii_audit")} SET principal = '${all[79]!.principal}' WHERE seq = 80`,
    );
    // A removed entry in the middle, then the tail (the head row still names entry 120).
    await place.sql(`DELETE FROM ${place.table("pii_audit")} WHERE seq = 50`);
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBadSeq: 50,
      problem: expect.stringContaining("missing"),
    });
    await place.sql(`DELETE FROM ${place.table("pii_audit")} WHERE seq >= 50`);
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBadSeq: 50,
      problem: expect.stringContaining("head"),
    });
  });
});
