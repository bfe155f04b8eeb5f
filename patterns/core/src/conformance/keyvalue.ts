import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../backend.js";
import { compareBytes } from "../bytes.js";
import type { KeyValueBackend } from "../keyvalue.js";
import { ALL, b, freshNamespace, hexItems, item, readAllPages } from "./fixtures.js";
import { keyValueLargeTests } from "./keyvalue-large.js";
import { keyValueWriteTests } from "./keyvalue-writes.js";

/** A backend under test: how to open it and how to release it. */
export interface KeyValueConformanceTarget {
  /** Shown in test names, e.g. `postgres`. */
  name: string;
  open(): Promise<Backend>;
}

/**
 * The KeyValue conformance suite. Every backend package runs it against a real store; it tests
 * what the backend declares and that what it does not declare is really absent.
 *
 * @example keyValueConformance({ name: "memory", open: async () => memoryDriver.open(ctx) })
 */
export function keyValueConformance(target: KeyValueConformanceTarget): void {
  describe(`KeyValue conformance: ${target.name}`, () => {
    let backend: Backend;
    let kv: KeyValueBackend;
    let ns: string;

    beforeAll(async () => {
      backend = await target.open();
      if (!backend.keyvalue) throw new Error(`${target.name} does not implement keyvalue`);
      kv = backend.keyvalue;
    });
    afterAll(async () => backend?.close());
    // Each test gets its own namespace.
    const fresh = () => {
      ns = freshNamespace();
      return ns;
    };

    it("reports healthy", async () => {
      const report = await backend.health(AbortSignal.timeout(5000));
      expect(report.ok, report.message).toBe(true);
    });

    describe("put and get", () => {
      it("round-trips a flat value stored under the empty key", async () => {
        fresh();
        const result = await kv.put(ns, "user-1", [{ key: new Uint8Array(), value: b("hello") }], {});
        expect(result.replayed).toBe(false);
        const { items, more } = await kv.get(ns, "user-1", { kind: "all" }, ALL);
        expect(hexItems(items)).toEqual(hexItems([{ key: new Uint8Array(), value: b("hello") }]));
        expect(more).toBe(false);
      });

      it("returns no items for a record that does not exist", async () => {
        fresh();
        expect(await kv.get(ns, "missing", { kind: "all" }, ALL)).toEqual({ items: [], more: false });
      });

      it("upserts: overwrites a key and keeps the record's other keys", async () => {
        fresh();
        await kv.put(ns, "r", [item("a", "1"), item("b", "2")], {});
        await kv.put(ns, "r", [item("b", "3"), item("c", "4")], {});
        const { items } = await kv.get(ns, "r", { kind: "all" }, ALL);
        expect(hexItems(items)).toEqual(hexItems([item("a", "1"), item("b", "3"), item("c", "4")]));
      });

      it("orders binary keys by unsigned bytes and round-trips every byte value", async () => {
        fresh();
        const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);
        const keys = [
          new Uint8Array(),
          Uint8Array.of(0x00),
          Uint8Array.of(0x00, 0x00),
          Uint8Array.of(0x7f),
          Uint8Array.of(0x80),
          Uint8Array.of(0xff),
          Uint8Array.of(0xff, 0xff, 0x00),
          new Uint8Array(1024).fill(0xab),
          b("a"),
          b("é"),
        ];
        const items = keys.map((key, i) => ({ key, value: i % 2 ? everyByte : new Uint8Array() }));
        await kv.put(ns, "bin", [...items].reverse(), {});
        const got = await kv.get(ns, "bin", { kind: "all" }, ALL);
        const expected = [...items].sort((x, y) => compareBytes(x.key, y.key));
        expect(hexItems(got.items)).toEqual(hexItems(expected));
      });

      it("keeps namespaces apart", async () => {
        const first = fresh();
        const second = freshNamespace();
        await kv.put(first, "same-id", [item("k", "first")], {});
        await kv.put(second, "same-id", [item("k", "second")], {});
        expect(hexItems((await kv.get(first, "same-id", { kind: "all" }, ALL)).items)).toEqual(
          hexItems([item("k", "first")]),
        );
        await kv.delete(second, "same-id", { kind: "all" }, {});
        expect((await kv.get(first, "same-id", { kind: "all" }, ALL)).items).toHaveLength(1);
      });

      it("stores the chunked marker unchanged", async () => {
        fresh();
        await kv.put(ns, "c", [{ ...item("m", "manifest"), chunked: true }, item("plain", "v")], {});
        const { items } = await kv.get(ns, "c", { kind: "all" }, ALL);
        expect(items.map((i) => Boolean(i.chunked))).toEqual([true, false]);
      });

      it("stores a value as large as it declares (up to 512 KiB here)", async () => {
        fresh();
        const size = Math.min(kv.capabilities.maxItemValueBytes, 512 * 1024);
        const value = Uint8Array.from({ length: size }, (_, i) => (i * 31) & 0xff);
        await kv.put(ns, "big", [{ key: b("v"), value }], {});
        const { items } = await kv.get(ns, "big", { kind: "all" }, ALL);
        expect(Buffer.from(items[0]!.value).equals(Buffer.from(value))).toBe(true);
      });
    });

    describe("predicates", () => {
      const five = ["a", "b", "c", "d", "e"].map((k) => item(k, `v-${k}`));

      it("reads a set of keys, leaving out keys that are absent", async () => {
        fresh();
        await kv.put(ns, "r", five, {});
        const { items } = await kv.get(ns, "r", { kind: "keys", keys: [b("b"), b("d"), b("zz")] }, ALL);
        expect(hexItems(items)).toEqual(hexItems([item("b", "v-b"), item("d", "v-d")]));
      });

      it("reads a range [start, end), and an open-ended range", async () => {
        fresh();
        await kv.put(ns, "r", five, {});
        const bounded = await kv.get(ns, "r", { kind: "range", start: b("b"), end: b("d") }, ALL);
        expect(hexItems(bounded.items)).toEqual(hexItems([five[1]!, five[2]!]));
        const open = await kv.get(ns, "r", { kind: "range", start: b("c") }, ALL);
        expect(hexItems(open.items)).toEqual(hexItems(five.slice(2)));
        const fromStart = await kv.get(ns, "r", { kind: "range", start: new Uint8Array(), end: b("b") }, ALL);
        expect(hexItems(fromStart.items)).toEqual(hexItems([five[0]!]));
      });

      it("deletes a set of keys, a range, and a whole record", async () => {
        fresh();
        await kv.put(ns, "r", five, {});
        await kv.delete(ns, "r", { kind: "keys", keys: [b("a"), b("missing")] }, {});
        await kv.delete(ns, "r", { kind: "range", start: b("c"), end: b("e") }, {});
        expect(hexItems((await kv.get(ns, "r", { kind: "all" }, ALL)).items)).toEqual(
          hexItems([five[1]!, five[4]!]),
        );
        await kv.delete(ns, "r", { kind: "all" }, {});
        expect((await kv.get(ns, "r", { kind: "all" }, ALL)).items).toEqual([]);
      });

      it("deleting a record that does not exist succeeds", async () => {
        fresh();
        await expect(kv.delete(ns, "ghost", { kind: "all" }, {})).resolves.toEqual({ replayed: false });
      });
    });

    describe("paging", () => {
      it("pages by item count with `after`, and says when more follow", async () => {
        fresh();
        const items = ["a", "b", "c", "d", "e"].map((k) => item(k, "v"));
        await kv.put(ns, "r", items, {});
        const { pages } = await readAllPages(kv, ns, "r", { limitItems: 2, limitBytes: 1 << 20 });
        expect(pages.map((p) => p.map((i) => Buffer.from(i.key).toString()))).toEqual([
          ["a", "b"],
          ["c", "d"],
          ["e"],
        ]);
      });

      it("ends with more=false when the last page is exactly full", async () => {
        fresh();
        await kv.put(ns, "r", [item("a", "v"), item("b", "v")], {});
        const page = await kv.get(ns, "r", { kind: "all" }, { limitItems: 2, limitBytes: 1 << 20 });
        expect(page.items).toHaveLength(2);
        expect(page.more).toBe(false);
      });

      it("pages by key+value bytes", async () => {
        fresh();
        const value = "x".repeat(100);
        await kv.put(
          ns,
          "r",
          ["a", "b", "c", "d", "e"].map((k) => item(k, value)),
          {},
        );
        // Each item is 101 bytes: two fit in 250, a third would not.
        const { pages } = await readAllPages(kv, ns, "r", { limitItems: 100, limitBytes: 250 });
        expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      });

      it("returns one item even when it alone exceeds the byte bound", async () => {
        fresh();
        await kv.put(ns, "r", [item("a", "y".repeat(1000)), item("b", "z")], {});
        const page = await kv.get(ns, "r", { kind: "all" }, { limitItems: 100, limitBytes: 10 });
        expect(page.items.map((i) => i.value.length)).toEqual([1000]);
        expect(page.more).toBe(true);
      });

      it("pages a key set and a range with `after`", async () => {
        fresh();
        await kv.put(
          ns,
          "r",
          ["a", "b", "c", "d", "e"].map((k) => item(k, "v")),
          {},
        );
        const keys = { kind: "keys" as const, keys: [b("a"), b("c"), b("e")] };
        const first = await kv.get(ns, "r", keys, { limitItems: 2, limitBytes: 1 << 20 });
        expect(first.items.map((i) => Buffer.from(i.key).toString())).toEqual(["a", "c"]);
        expect(first.more).toBe(true);
        const second = await kv.get(ns, "r", keys, { limitItems: 2, limitBytes: 1 << 20, after: b("c") });
        expect(second.items.map((i) => Buffer.from(i.key).toString())).toEqual(["e"]);
        expect(second.more).toBe(false);
        const range = { kind: "range" as const, start: b("b"), end: b("e") };
        const ranged = await kv.get(ns, "r", range, { limitItems: 10, limitBytes: 1 << 20, after: b("b") });
        expect(ranged.items.map((i) => Buffer.from(i.key).toString())).toEqual(["c", "d"]);
      });
    });

    keyValueWriteTests({ kv: () => kv, fresh });
    keyValueLargeTests({ kv: () => kv, fresh });
  });
}
