import { type Backend, type GetOptions, isPrismError, type KeyPredicate } from "@prism/core";
import { b, freshNamespace } from "@prism/core/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BATCH } from "./get-batcher.js";
import { PostgresKeyValue } from "./postgres-keyvalue.js";
import { readPostgresOptions } from "./postgres-options.js";
import { PostgresPool, type SqlQuery } from "./postgres-pool.js";
import { migrate } from "./schema.js";
import { buildStatements } from "./sql.js";
import {
  adminClient,
  freshSchema,
  sizedItem as item,
  openTestBackend,
  plainPage as plain,
  rejection,
  TEST_URL,
} from "./test-support.js";

const ALL = { limitItems: 1000, limitBytes: 1 << 20 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A pool that records every statement it runs: which one, with which values. */
class RecordingPool extends PostgresPool {
  readonly seen: { name: string; values: unknown[] }[] = [];

  override run<T>(signal: AbortSignal | undefined, work: Parameters<PostgresPool["run"]>[1]): Promise<T> {
    return super.run(signal, (client) =>
      work({
        query: (query: SqlQuery) => {
          if (typeof query !== "string")
            this.seen.push({ name: query.name ?? "", values: query.values ?? [] });
          return client.query(query);
        },
      }),
    ) as Promise<T>;
  }

  names(): string[] {
    return this.seen.map((query) => query.name);
  }
}

describe("postgres get batching", () => {
  const schema = freshSchema();
  let backend: Backend;
  let pool: RecordingPool;
  let kv: PostgresKeyValue;

  beforeAll(async () => {
    // Opening a backend creates the schema (and fails with a hint without a server).
    backend = await openTestBackend({ schema }, "pg-batch");
    const { options } = readPostgresOptions({ url: TEST_URL, schema });
    pool = new RecordingPool("pg-batch", TEST_URL, options, (client) => migrate(client, schema));
    kv = new PostgresKeyValue(pool, buildStatements(schema));
  });
  afterAll(async () => {
    await pool?.close();
    await backend?.close();
    const admin = await adminClient();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it("answers concurrent gets exactly as the same gets one at a time", async () => {
    const ns = freshNamespace();
    const other = freshNamespace();
    const soon = Date.now() + 150;
    const later = Date.now() + 3_600_000;
    await kv.put(
      ns,
      "five",
      ["a", "b", "c", "d", "e"].map((k) => item(k, 100)),
      {},
    );
    await kv.put(ns, "flat", [item("", 1, { chunked: true })], {});
    await kv.put(
      ns,
      "sizes",
      Array.from({ length: 10 }, (_, i) => item(`k${i}`, i * 30)),
      {},
    );
    await kv.put(ns, "big-first", [item("a", 1000), item("b", 1), item("c", 1)], {});
    await kv.put(
      ns,
      "ttl",
      [
        item("a", 5, { expiresAt: soon }),
        item("b", 5, { expiresAt: later }),
        item("c", 5, { expiresAt: soon }),
        item("k3", 5),
      ],
      {},
    );
    await kv.put(other, "five", [item("a", 7)], {});
    await sleep(200); // items expiring `soon` are gone now

    const predicates: KeyPredicate[] = [
      { kind: "all" },
      { kind: "keys", keys: [b("a"), b("c"), b("e"), b("zz")] },
      { kind: "keys", keys: [b("k3"), b("k5")] },
      { kind: "keys", keys: [] },
      { kind: "range", start: b("b"), end: b("k4") },
    ];
    const limits = [
      { limitItems: 1, limitBytes: 1 << 20 },
      { limitItems: 2, limitBytes: 1 << 20 },
      { limitItems: 100, limitBytes: 150 },
      { limitItems: 100, limitBytes: 10 },
      { limitItems: 1000, limitBytes: 1 << 20 },
    ];
    const afters = [undefined, b("a"), b("k3")];
    const reads: [string, string, KeyPredicate, GetOptions][] = [];
    for (const [namespace, id] of [
      [ns, "five"],
      [ns, "flat"],
      [ns, "sizes"],
      [ns, "big-first"],
      [ns, "ttl"],
      [ns, "ghost"],
      [other, "five"],
    ] as const) {
      for (const predicate of predicates) {
        for (const limit of limits) {
          for (const after of afters)
            reads.push([namespace, id, predicate, after ? { ...limit, after } : limit]);
        }
      }
    }

    const oneAtATime: ReturnType<typeof plain>[] = [];
    for (const read of reads) oneAtATime.push(plain(await kv.get(...read)));
    expect(pool.names().filter((name) => name.endsWith("_batch"))).toEqual([]);
    const concurrent = (await Promise.all(reads.map((read) => kv.get(...read)))).map(plain);

    expect(concurrent).toEqual(oneAtATime);
    expect(pool.names()).toContain("prism_kv_get_all_batch");
    expect(pool.names()).toContain("prism_kv_get_keys_batch");
    // Spot checks that the reference itself is right: expiry, absence, the at-least-one rule.
    const at = (id: string, predicate: KeyPredicate, limit: (typeof limits)[number]) =>
      oneAtATime[reads.findIndex((r) => r[0] === ns && r[1] === id && r[2] === predicate && r[3] === limit)]!;
    expect(at("ttl", predicates[0]!, limits[4]!).items.map((i) => i.key)).toEqual(["62", "6b33"]);
    expect(at("ghost", predicates[0]!, limits[4]!)).toEqual({ items: [], more: false });
    expect(at("big-first", predicates[0]!, limits[3]!)).toMatchObject({ items: [{ key: "61" }], more: true });
  });

  it(`splits more than ${MAX_BATCH} concurrent gets into statements of at most ${MAX_BATCH} callers`, async () => {
    const ns = freshNamespace();
    const count = 2 * MAX_BATCH + 22;
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        i % 3 === 0 ? Promise.resolve() : kv.put(ns, `r${i}`, [item(`${i}`, i)], {}),
      ),
    );
    pool.seen.length = 0;
    const pages = await Promise.all(
      Array.from({ length: count }, (_, i) => kv.get(ns, `r${i}`, { kind: "all" }, ALL)),
    );
    pages.forEach((page, i) => {
      expect(plain(page)).toEqual(
        i % 3 === 0 ? { items: [], more: false } : plain({ items: [item(`${i}`, i)], more: false }),
      );
    });
    const batches = pool.seen.filter((query) => query.name === "prism_kv_get_all_batch");
    expect(batches.map((query) => (query.values[2] as string[]).length)).toEqual([MAX_BATCH, MAX_BATCH, 22]);
  });

  it("rejects at once, before queueing, when the signal has already fired", async () => {
    const signal = AbortSignal.abort();
    const before = pool.seen.length;
    expect(
      isPrismError(await rejection(kv.get("ns", "r", { kind: "all" }, { ...ALL, signal })), "Cancelled"),
    ).toBe(true);
    expect(pool.seen.length).toBe(before);
  });
});
