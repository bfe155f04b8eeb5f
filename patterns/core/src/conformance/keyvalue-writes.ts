import { beforeEach, describe, expect, it } from "vitest";
import { compareIds } from "../bytes.js";
import { isPrismError } from "../errors.js";
import type { KeyValueBackend } from "../keyvalue.js";
import { ALL, b, freshNamespace, hexItems, item, sleep } from "./fixtures.js";

/** What the write-side tests need from the suite that opened the backend. */
export interface SuiteContext {
  kv(): KeyValueBackend;
  /** Switches to a fresh namespace and returns its name. */
  fresh(): string;
}

/**
 * The write-side half of the KeyValue conformance suite: mutate, idempotency, TTL, scan,
 * concurrency and cancellation. Called from `keyValueConformance`.
 */
export function keyValueWriteTests(ctx: SuiteContext): void {
  let kv: KeyValueBackend;
  let ns: string;
  const fresh = () => {
    ns = ctx.fresh();
    return ns;
  };
  beforeEach(() => {
    kv = ctx.kv();
  });

  describe("mutate", () => {
    it("applies puts and deletes in order", async () => {
      fresh();
      await kv.put(ns, "r", [item("old", "1"), item("x", "2")], {});
      const result = await kv.mutate(
        ns,
        "r",
        [
          { op: "put", item: item("a", "1") },
          { op: "delete", predicate: { kind: "keys", keys: [b("a")] } },
          { op: "put", item: item("b", "2") },
          { op: "delete", predicate: { kind: "range", start: b("o"), end: b("p") } },
          { op: "put", item: item("x", "3") },
        ],
        {},
      );
      expect(result).toEqual({ replayed: false, atomic: kv.capabilities.atomicMutate });
      const { items } = await kv.get(ns, "r", { kind: "all" }, ALL);
      expect(hexItems(items)).toEqual(hexItems([item("b", "2"), item("x", "3")]));
    });

    it("deleting everything then putting leaves only the new item", async () => {
      fresh();
      await kv.put(ns, "r", [item("a", "1"), item("b", "2")], {});
      await kv.mutate(
        ns,
        "r",
        [
          { op: "delete", predicate: { kind: "all" } },
          { op: "put", item: item("c", "3") },
        ],
        {},
      );
      expect(hexItems((await kv.get(ns, "r", { kind: "all" }, ALL)).items)).toEqual(
        hexItems([item("c", "3")]),
      );
    });

    it("is atomic to concurrent readers when it declares atomicMutate", async () => {
      if (!kv.capabilities.atomicMutate) return;
      fresh();
      const puts = Array.from({ length: 50 }, (_, i) => ({
        op: "put" as const,
        item: item(`k${String(i).padStart(2, "0")}`, "v"),
      }));
      let done = false;
      const seen = new Set<number>();
      const writer = kv.mutate(ns, "r", puts, {}).finally(() => {
        done = true;
      });
      while (!done) {
        seen.add((await kv.get(ns, "r", { kind: "all" }, ALL)).items.length);
      }
      await writer;
      seen.add((await kv.get(ns, "r", { kind: "all" }, ALL)).items.length);
      expect([...seen].every((n) => n === 0 || n === 50)).toBe(true);
      expect(seen.has(50)).toBe(true);
    });
  });

  describe("idempotency", () => {
    it("a replayed put changes nothing", async () => {
      fresh();
      expect(await kv.put(ns, "r", [item("k", "v1")], { idempotencyKey: "t-1" })).toEqual({
        replayed: false,
      });
      await kv.put(ns, "r", [item("k", "v2")], {});
      expect(await kv.put(ns, "r", [item("k", "v1")], { idempotencyKey: "t-1" })).toEqual({
        replayed: true,
      });
      expect(hexItems((await kv.get(ns, "r", { kind: "all" }, ALL)).items)).toEqual(
        hexItems([item("k", "v2")]),
      );
    });

    it("a replayed delete and a replayed mutate change nothing", async () => {
      fresh();
      await kv.put(ns, "r", [item("k", "v1")], {});
      await kv.delete(ns, "r", { kind: "all" }, { idempotencyKey: "del-1" });
      await kv.put(ns, "r", [item("k", "v2")], {});
      expect(await kv.delete(ns, "r", { kind: "all" }, { idempotencyKey: "del-1" })).toEqual({
        replayed: true,
      });
      const mutation = [{ op: "put" as const, item: item("m", "1") }];
      await kv.mutate(ns, "r", mutation, { idempotencyKey: "mut-1" });
      await kv.delete(ns, "r", { kind: "keys", keys: [b("m")] }, {});
      const replay = await kv.mutate(ns, "r", mutation, { idempotencyKey: "mut-1" });
      expect(replay.replayed).toBe(true);
      expect(hexItems((await kv.get(ns, "r", { kind: "all" }, ALL)).items)).toEqual(
        hexItems([item("k", "v2")]),
      );
    });

    it("idempotency keys are per namespace", async () => {
      const first = fresh();
      const second = freshNamespace();
      await kv.put(first, "r", [item("k", "v")], { idempotencyKey: "shared" });
      expect(await kv.put(second, "r", [item("k", "v")], { idempotencyKey: "shared" })).toEqual({
        replayed: false,
      });
      expect((await kv.get(second, "r", { kind: "all" }, ALL)).items).toHaveLength(1);
    });

    it("concurrent replays of one key apply once", async () => {
      fresh();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          kv.mutate(ns, "r", [{ op: "put", item: item(`k${i}`, "v") }], { idempotencyKey: "race" }),
        ),
      );
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      expect((await kv.get(ns, "r", { kind: "all" }, ALL)).items).toHaveLength(1);
    });
  });

  describe("ttl", () => {
    it("expires items at their deadline when it declares ttl, and rejects them otherwise", async () => {
      fresh();
      const soon = Date.now() + 600;
      const write = kv.put(ns, "r", [{ ...item("short", "v"), expiresAt: soon }, item("forever", "v")], {});
      if (!kv.capabilities.ttl) {
        await expect(write).rejects.toSatisfy((e) => isPrismError(e, "Unimplemented"));
        expect((await kv.get(ns, "r", { kind: "all" }, ALL)).items).toEqual([]);
        return;
      }
      await write;
      const before = await kv.get(ns, "r", { kind: "all" }, ALL);
      expect(before.items.map((i) => Buffer.from(i.key).toString())).toEqual(["forever", "short"]);
      expect(before.items[1]!.expiresAt).toBe(soon);
      await sleep(soon - Date.now() + 150);
      const after = await kv.get(ns, "r", { kind: "all" }, ALL);
      expect(after.items.map((i) => Buffer.from(i.key).toString())).toEqual(["forever"]);
      const scanned = await kv.scan(ns, ALL);
      expect(scanned.rows.map((r) => Buffer.from(r.item.key).toString())).toEqual(["forever"]);
    });

    it("an item whose expiry is already past is never returned", async () => {
      if (!kv.capabilities.ttl) return;
      fresh();
      await kv.put(ns, "r", [{ ...item("gone", "v"), expiresAt: Date.now() - 1 }], {});
      expect((await kv.get(ns, "r", { kind: "all" }, ALL)).items).toEqual([]);
    });
  });

  describe("scan", () => {
    it("walks every record in (id bytes, key) order across pages", async () => {
      fresh();
      // UTF-16 order puts the emoji before U+FFFD; UTF-8 byte order puts it after.
      const ids = ["b", "a", "\u{1F600}", "\uFFFD", "é"];
      for (const id of ids) await kv.put(ns, id, [item("2", id), item("1", id)], {});
      const other = freshNamespace();
      await kv.put(other, "a", [item("x", "other")], {});
      const seen: string[] = [];
      let after: { id: string; key: Uint8Array } | undefined;
      for (let guard = 0; guard < 100; guard++) {
        const page = await kv.scan(ns, { limitItems: 3, limitBytes: 1 << 20, ...(after ? { after } : {}) });
        for (const row of page.rows) seen.push(`${row.id}/${Buffer.from(row.item.key).toString()}`);
        if (!page.more) break;
        const last = page.rows.at(-1)!;
        after = { id: last.id, key: last.item.key };
      }
      const expected = [...ids].sort(compareIds).flatMap((id) => [`${id}/1`, `${id}/2`]);
      expect(seen).toEqual(expected);
    });

    it("bounds a scan page by bytes, returning at least one row", async () => {
      fresh();
      await kv.put(ns, "r", [item("a", "x".repeat(500)), item("b", "x".repeat(500))], {});
      const page = await kv.scan(ns, { limitItems: 100, limitBytes: 10 });
      expect(page.rows).toHaveLength(1);
      expect(page.more).toBe(true);
    });

    it("an empty namespace scans to nothing", async () => {
      fresh();
      expect(await kv.scan(ns, ALL)).toEqual({ rows: [], more: false });
    });
  });

  describe("concurrency and cancellation", () => {
    it("concurrent writers on one record lose nothing", async () => {
      fresh();
      await Promise.all(Array.from({ length: 25 }, (_, i) => kv.put(ns, "hot", [item(`k${i}`, `${i}`)], {})));
      expect((await kv.get(ns, "hot", { kind: "all" }, ALL)).items).toHaveLength(25);
      const values = Array.from({ length: 10 }, (_, i) => `w${i}`);
      await Promise.all(values.map((v) => kv.put(ns, "hot", [item("same", v)], {})));
      const same = await kv.get(ns, "hot", { kind: "keys", keys: [b("same")] }, ALL);
      expect(values).toContain(Buffer.from(same.items[0]!.value).toString());
    });

    it("a call whose deadline has passed rejects with DeadlineExceeded and writes nothing", async () => {
      fresh();
      const signal = AbortSignal.timeout(0);
      await sleep(5);
      await expect(kv.put(ns, "r", [item("k", "v")], { signal })).rejects.toSatisfy((e) =>
        isPrismError(e, "DeadlineExceeded"),
      );
      expect((await kv.get(ns, "r", { kind: "all" }, ALL)).items).toEqual([]);
    });
  });
}
