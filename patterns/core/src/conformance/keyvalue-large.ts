import { beforeEach, describe, expect, it } from "vitest";
import { isPrismError } from "../errors.js";
import type { KeyValueBackend, KvItem } from "../keyvalue.js";
import { companionId } from "../layers/chunk-format.js";
import { ChunkSweeper } from "../layers/chunk-sweeper.js";
import { chunked } from "../layers/chunked.js";
import { ALL, b, item, readAllPages, sleep } from "./fixtures.js";
import { keyValueLargeRaceTests } from "./keyvalue-large-races.js";
import type { SuiteContext } from "./keyvalue-writes.js";
import { KiB, MiB, pattern, same, spy } from "./large-fixtures.js";

/** The chunk size most large-value tests use: small, so values of a few chunks stay fast. */
export const SMALL_CHUNK = 64 * KiB;

/**
 * The large-value half of the KeyValue conformance suite: every backend, wrapped in `chunked()`,
 * stores values far above its item limit whole, pages them by their real size, and hides its
 * chunk records. Called from `keyValueConformance`.
 */
export function keyValueLargeTests(ctx: SuiteContext): void {
  describe("large values through chunked()", () => {
    let raw: KeyValueBackend;
    let kv: KeyValueBackend;
    let ns: string;
    beforeEach(() => {
      raw = ctx.kv();
      kv = chunked(raw, { chunkBytes: SMALL_CHUNK, maxValueBytes: 16 * MiB });
      ns = ctx.fresh();
    });

    it("round-trips values below, at, just above and far above the chunk size", async () => {
      const sizes = [SMALL_CHUNK - 1, SMALL_CHUNK, SMALL_CHUNK + 1, 3 * SMALL_CHUNK, MiB + 17];
      const items = sizes.map((size, i) => ({ key: b(`k${i}`), value: pattern(size, i + 1) }));
      expect(await kv.put(ns, "r", items, {})).toEqual({ replayed: false });
      const { items: got, more } = await kv.get(ns, "r", { kind: "all" }, ALL);
      expect(more).toBe(false);
      expect(got.map((i) => i.value.length)).toEqual(sizes);
      got.forEach((g, i) => {
        expect(same(g.value, items[i]!.value), `k${i}`).toBe(true);
        expect(g.chunked).toBeUndefined();
      });
      // Underneath: manifests above the chunk size only, and chunks in the hidden companion.
      const stored = await raw.get(ns, "r", { kind: "all" }, ALL);
      expect(stored.items.map((i) => Boolean(i.chunked))).toEqual([false, false, true, true, true]);
      expect(stored.items.every((i) => i.value.length <= SMALL_CHUNK)).toBe(true);
      const companion = await raw.get(ns, companionId("r"), { kind: "all" }, ALL);
      expect(companion.items.length).toBeGreaterThan(2 + 4 + 17);
      const one = await kv.get(ns, "r", { kind: "keys", keys: [b("k4")] }, ALL);
      expect(same(one.items[0]?.value, items[4]!.value)).toBe(true);
    });

    it("round-trips 1 MiB, 1.5 MiB and 5 MiB values at the real 1 MiB chunk size", async () => {
      const real = chunked(raw, { chunkBytes: MiB, maxValueBytes: 64 * MiB });
      const values = [MiB, 1.5 * MiB, 5 * MiB].map((size, i) => pattern(size, 10 + i));
      await real.put(
        ns,
        "big",
        values.map((value, i) => ({ key: b(`v${i}`), value })),
        {},
      );
      const { items } = await real.get(ns, "big", { kind: "all" }, ALL);
      expect(items.map((i) => i.value.length)).toEqual(values.map((v) => v.length));
      items.forEach((got, i) => {
        expect(same(got.value, values[i]!)).toBe(true);
      });
    });

    it("pages several large items of one record by their real size", async () => {
      const values = [0, 1, 2, 3, 4].map((i) => pattern(200 * KiB, 20 + i));
      await kv.put(
        ns,
        "r",
        [...values.map((value, i) => ({ key: b(`k${i}`), value })), item("z", "small")],
        {},
      );
      const { pages } = await readAllPages(kv, ns, "r", { limitItems: 100, limitBytes: 450 * KiB });
      expect(pages.map((p) => p.length)).toEqual([2, 2, 2]);
      const all = pages.flat();
      values.forEach((value, i) => {
        expect(same(all[i]!.value, value)).toBe(true);
      });
      const byCount = await readAllPages(kv, ns, "r", { limitItems: 4, limitBytes: 64 * MiB });
      expect(byCount.pages.map((p) => p.length)).toEqual([4, 2]);
    });

    it("a Delete removes large values, and costs one backend call", async () => {
      const counted = spy(raw);
      const layer = chunked(counted.kv, { chunkBytes: SMALL_CHUNK, maxValueBytes: 16 * MiB });
      await layer.put(ns, "r", [{ key: b("a"), value: pattern(300 * KiB, 1) }, item("s", "v")], {});
      counted.calls.length = 0;
      await layer.delete(ns, "r", { kind: "keys", keys: [b("a")] }, {});
      expect(counted.calls.map((c) => c.method)).toEqual(["delete"]);
      expect(
        (await layer.get(ns, "r", { kind: "all" }, ALL)).items.map((i) => Buffer.from(i.value).toString()),
      ).toEqual(["v"]);
      counted.calls.length = 0;
      await layer.delete(ns, "r", { kind: "all" }, {});
      expect(counted.calls).toEqual([{ method: "delete", id: "r" }]);
      expect(await layer.get(ns, "r", { kind: "all" }, ALL)).toEqual({ items: [], more: false });
    });

    it("a small Put or Mutate is one backend call; a 1.5 MiB Put is two", async () => {
      const counted = spy(raw);
      const layer = chunked(counted.kv, { chunkBytes: SMALL_CHUNK, maxValueBytes: 16 * MiB });
      await layer.put(ns, "r", [item("a", "1"), item("b", "2")], {});
      expect(counted.calls.map((c) => c.method)).toEqual(["put"]);
      counted.calls.length = 0;
      await layer.mutate(ns, "r", [{ op: "put", item: item("c", "3") }], {});
      expect(counted.calls.map((c) => c.method)).toEqual(["mutate"]);
      counted.calls.length = 0;
      await layer.put(ns, "r", [{ key: b("big"), value: pattern(1.5 * MiB, 3) }], {});
      expect(counted.calls.map((c) => `${c.method} ${c.id}`)).toEqual([`put ${companionId("r")}`, "put r"]);
      // Chunk writes are bounded by bytes per call.
      const batched = chunked(counted.kv, {
        chunkBytes: SMALL_CHUNK,
        maxValueBytes: 16 * MiB,
        batchBytes: 300 * KiB,
      });
      counted.calls.length = 0;
      await batched.put(ns, "r", [{ key: b("big"), value: pattern(1.5 * MiB, 4) }], {});
      const staging = counted.calls.filter((c) => c.id === companionId("r"));
      expect(staging.length).toBeGreaterThanOrEqual(6);
      expect(staging.every((c) => c.bytes! <= 300 * KiB)).toBe(true);
      expect(
        same(
          (await batched.get(ns, "r", { kind: "keys", keys: [b("big")] }, ALL)).items[0]?.value,
          pattern(1.5 * MiB, 4),
        ),
      ).toBe(true);
    });

    it("scans whole values and never shows its hidden records", async () => {
      const big = pattern(300 * KiB, 5);
      await kv.put(ns, "b", [{ key: b("x"), value: big }, item("y", "small")], {});
      await kv.put(ns, "a", [item("k", "v")], {});
      await kv.put(ns, "c", [{ key: b(""), value: pattern(100 * KiB, 6) }], {});
      // The raw backend does hold hidden records, sorting first.
      expect((await raw.scan(ns, { limitItems: 1, limitBytes: 1 })).rows[0]!.id).toBe(companionId("b"));
      const rows: { id: string; item: KvItem }[] = [];
      let after: { id: string; key: Uint8Array } | undefined;
      for (let guard = 0; guard < 50; guard++) {
        const page = await kv.scan(ns, {
          limitItems: 100,
          limitBytes: 150 * KiB,
          ...(after ? { after } : {}),
        });
        rows.push(...page.rows);
        if (!page.more) break;
        const last = page.rows.at(-1)!;
        after = { id: last.id, key: last.item.key };
      }
      expect(rows.map((r) => `${r.id}/${Buffer.from(r.item.key).toString()}`)).toEqual([
        "a/k",
        "b/x",
        "b/y",
        "c/",
      ]);
      expect(same(rows[1]!.item.value, big)).toBe(true);
      expect(rows[3]!.item.value.length).toBe(100 * KiB);
      // A scan resumed from inside the hidden range starts at the first visible record.
      const resumed = await kv.scan(ns, { ...ALL, after: { id: companionId("b"), key: new Uint8Array() } });
      expect(resumed.rows.map((r) => r.id)).toEqual(["a", "b", "b", "c"]);
    });

    it("a replayed Put changes nothing and removes the chunks it staged", async () => {
      const first = pattern(200 * KiB, 7);
      expect(await kv.put(ns, "r", [{ key: b("k"), value: first }], { idempotencyKey: "t-1" })).toEqual({
        replayed: false,
      });
      const before = (await raw.get(ns, companionId("r"), { kind: "all" }, ALL)).items.length;
      const replay = await kv.put(ns, "r", [{ key: b("k"), value: pattern(200 * KiB, 8) }], {
        idempotencyKey: "t-1",
      });
      expect(replay).toEqual({ replayed: true });
      expect(same((await kv.get(ns, "r", { kind: "all" }, ALL)).items[0]?.value, first)).toBe(true);
      expect((await raw.get(ns, companionId("r"), { kind: "all" }, ALL)).items.length).toBe(before);
    });

    it("Mutate stores large puts in order, and a replay changes nothing", async () => {
      await kv.put(ns, "r", [item("c", "gone"), { key: b("d"), value: pattern(100 * KiB, 9) }], {});
      const a = pattern(150 * KiB, 10);
      const d = pattern(250 * KiB, 11);
      const mutations = [
        { op: "put" as const, item: { key: b("a"), value: a } },
        { op: "put" as const, item: item("b", "small") },
        { op: "delete" as const, predicate: { kind: "keys" as const, keys: [b("c")] } },
        { op: "put" as const, item: { key: b("d"), value: d } },
      ];
      const result = await kv.mutate(ns, "r", mutations, { idempotencyKey: "m-1" });
      expect(result).toEqual({ replayed: false, atomic: raw.capabilities.atomicMutate });
      const check = async () => {
        const { items } = await kv.get(ns, "r", { kind: "all" }, ALL);
        expect(items.map((i) => Buffer.from(i.key).toString())).toEqual(["a", "b", "d"]);
        expect(same(items[0]!.value, a) && same(items[2]!.value, d)).toBe(true);
      };
      await check();
      expect((await kv.mutate(ns, "r", mutations, { idempotencyKey: "m-1" })).replayed).toBe(true);
      await check();
    });

    it("expires large values with their item when it declares ttl, and rejects them otherwise", async () => {
      const soon = Date.now() + 700;
      const write = kv.put(
        ns,
        "r",
        [{ key: b("big"), value: pattern(200 * KiB, 12), expiresAt: soon }, item("keep", "v")],
        {},
      );
      if (!raw.capabilities.ttl) {
        await expect(write).rejects.toSatisfy((e) => isPrismError(e, "Unimplemented"));
        expect((await kv.get(ns, "r", { kind: "all" }, ALL)).items).toEqual([]);
        return;
      }
      await write;
      const live = await kv.get(ns, "r", { kind: "keys", keys: [b("big")] }, ALL);
      expect(live.items[0]!.expiresAt).toBe(soon);
      expect(same(live.items[0]!.value, pattern(200 * KiB, 12))).toBe(true);
      await sleep(soon - Date.now() + 150);
      expect(
        (await kv.get(ns, "r", { kind: "all" }, ALL)).items.map((i) => Buffer.from(i.key).toString()),
      ).toEqual(["keep"]);
      expect((await kv.scan(ns, ALL)).rows.map((r) => r.id)).toEqual(["r"]);
    });

    it("rejects values above maxValueBytes and hidden ids, writing nothing", async () => {
      const small = chunked(raw, { chunkBytes: SMALL_CHUNK, maxValueBytes: 100 * KiB });
      expect(small.capabilities.maxItemValueBytes).toBe(100 * KiB);
      await expect(
        small.put(ns, "r", [{ key: b("k"), value: new Uint8Array(100 * KiB + 1) }], {}),
      ).rejects.toSatisfy((e) => isPrismError(e, "InvalidArgument"));
      await expect(kv.get(ns, companionId("r"), { kind: "all" }, ALL)).rejects.toSatisfy((e) =>
        isPrismError(e, "InvalidArgument"),
      );
      expect(await raw.scan(ns, ALL)).toEqual({ rows: [], more: false });
    });

    it("reads values stored in the earlier chunk format, and sweeps them once their record is gone", async () => {
      const value = pattern(150 * KiB, 13);
      const writeId = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
      const key = b("old");
      const chunkKey = (index: number) => {
        const k = new Uint8Array(4 + key.length + 8 + 4);
        const view = new DataView(k.buffer);
        view.setUint32(0, key.length);
        k.set(key, 4);
        k.set(writeId, 4 + key.length);
        view.setUint32(4 + key.length + 8, index);
        return k;
      };
      const manifest = new Uint8Array(21);
      manifest[0] = 1;
      manifest.set(writeId, 1);
      new DataView(manifest.buffer).setUint32(9, 3);
      new DataView(manifest.buffer).setBigUint64(13, BigInt(value.length));
      const chunks = [0, 1, 2].map((i) => ({
        key: chunkKey(i),
        value: value.subarray(i * 64 * KiB, (i + 1) * 64 * KiB),
      }));
      await raw.put(ns, companionId("r"), chunks, {});
      await raw.put(ns, "r", [{ key, value: manifest, chunked: true }], {});
      expect(same((await kv.get(ns, "r", { kind: "all" }, ALL)).items[0]?.value, value)).toBe(true);
      const sweeper = new ChunkSweeper(raw, { pauseMs: 0 });
      expect((await sweeper.sweep(ns, { now: Date.now() + 3_600_000 })).removedLegacy).toBe(0);
      await kv.delete(ns, "r", { kind: "all" }, {});
      expect((await sweeper.sweep(ns, { now: Date.now() + 3_600_000 })).removedLegacy).toBe(1);
      expect((await raw.get(ns, companionId("r"), { kind: "all" }, ALL)).items).toEqual([]);
    });

    keyValueLargeRaceTests({ raw: () => raw, layer: () => kv, ns: () => ns });
  });
}
