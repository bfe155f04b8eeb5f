import { describe, expect, it } from "vitest";
import type { KeyValueBackend, KvItem } from "../keyvalue.js";
import { companionId } from "../layers/chunk-format.js";
import { ChunkSweeper } from "../layers/chunk-sweeper.js";
import { chunked } from "../layers/chunked.js";
import { ALL, b, item, sleep } from "./fixtures.js";
import { KiB, MiB, pattern, same, spy, whichOf } from "./large-fixtures.js";

/** What the race tests get from `keyValueLargeTests`: the raw backend, the layer, this test's namespace. */
export interface LargeContext {
  raw(): KeyValueBackend;
  layer(): KeyValueBackend;
  ns(): string;
}

const GRACE = 10 * 60_000;
/** A time past every chunk set's grace. */
const later = () => Date.now() + GRACE + 60_000;

/**
 * Concurrency, sweeping and soft deadlines of `chunked()`: writers never break each other or
 * readers, the sweeper only removes what nothing references, partial pages lose nothing.
 */
export function keyValueLargeRaceTests(ctx: LargeContext): void {
  describe("races, sweeping and soft deadlines", () => {
    it("4 concurrent writers of different 1.5 MiB values: all acked, the key reads as one of them", async () => {
      const ns = ctx.ns();
      const real = chunked(ctx.raw(), { chunkBytes: MiB, maxValueBytes: 64 * MiB });
      for (let round = 0; round < 3; round++) {
        const values = [0, 1, 2, 3].map((w) => pattern(1.5 * MiB, 100 * round + w + 1));
        const results = await Promise.all(
          values.map((value) => real.put(ns, "hot", [{ key: b(""), value }], {})),
        );
        expect(results.every((r) => !r.replayed)).toBe(true);
        const { items } = await real.get(ns, "hot", { kind: "all" }, ALL);
        expect(items).toHaveLength(1);
        expect(whichOf(items[0]!.value, values), `round ${round}`).toBeGreaterThanOrEqual(0);
      }
    });

    it("readers racing overwrites (and a sweeper) always get one written value whole", async () => {
      const ns = ctx.ns();
      const kv = ctx.layer();
      const sweeper = new ChunkSweeper(ctx.raw(), { graceMs: GRACE, pauseMs: 0 });
      const values = [0, 1, 2, 3].map((i) => pattern(300 * KiB, 40 + i));
      await kv.put(ns, "r", [{ key: b("v"), value: values[0]! }], {});
      let writing = true;
      const writer = (async () => {
        for (let i = 1; i <= 24; i++) await kv.put(ns, "r", [{ key: b("v"), value: values[i % 4]! }], {});
      })().finally(() => {
        writing = false;
      });
      const seen = new Set<number>();
      const reader = async () => {
        while (writing) {
          const { items } = await kv.get(ns, "r", { kind: "all" }, ALL);
          const which = whichOf(items[0]?.value, values);
          expect(which).toBeGreaterThanOrEqual(0);
          seen.add(which);
        }
      };
      let removedWhileWriting = 0;
      const sweeping = (async () => {
        while (writing) removedWhileWriting += (await sweeper.sweep(ns)).removedSets;
      })();
      await Promise.all([writer, reader(), reader(), reader(), sweeping]);
      expect(removedWhileWriting).toBe(0);
      expect(seen.size).toBeGreaterThan(0);
      const last = await kv.get(ns, "r", { kind: "all" }, ALL);
      expect(same(last.items[0]?.value, values[0]!)).toBe(true);
    });

    it("the sweeper removes overwritten, deleted and replayed chunk sets, keeping live values", async () => {
      const ns = ctx.ns();
      const kv = ctx.layer();
      const raw = ctx.raw();
      const sweeper = new ChunkSweeper(raw, { graceMs: GRACE, pauseMs: 0 });
      const live = pattern(200 * KiB, 50);
      await kv.put(ns, "r", [{ key: b("a"), value: pattern(200 * KiB, 51) }], {});
      await kv.put(ns, "r", [{ key: b("a"), value: live }, item("small", "v")], {});
      await kv.put(ns, "gone", [{ key: b("x"), value: pattern(100 * KiB, 52) }], {});
      await kv.delete(ns, "gone", { kind: "all" }, {});
      await kv.put(ns, "r", [{ key: b("b"), value: pattern(100 * KiB, 53) }], {});
      await kv.put(ns, "r", [item("b", "now small")], {});
      // Young sets stay, whatever references them.
      expect(await sweeper.sweep(ns)).toEqual({
        companions: 2,
        removedSets: 0,
        keptSets: 4,
        removedLegacy: 0,
      });
      expect(await sweeper.sweep(ns, { now: later() })).toEqual({
        companions: 2,
        removedSets: 3,
        keptSets: 1,
        removedLegacy: 0,
      });
      const { items } = await kv.get(ns, "r", { kind: "all" }, ALL);
      expect(items.map((i) => Buffer.from(i.key).toString())).toEqual(["a", "b", "small"]);
      expect(same(items[0]!.value, live)).toBe(true);
      expect((await raw.get(ns, companionId("gone"), { kind: "all" }, ALL)).items).toEqual([]);
      const left = await raw.get(ns, companionId("r"), { kind: "all" }, ALL);
      expect(left.items.length).toBe(
        1 + Math.ceil((200 * KiB) / Math.min(64 * KiB, raw.capabilities.maxItemValueBytes)),
      );
      expect((await sweeper.sweep(ns, { now: later() })).removedSets).toBe(0);
      // The live value survives a sweep racing a new writer of the same key.
      const next = pattern(200 * KiB, 54);
      await Promise.all([kv.put(ns, "r", [{ key: b("a"), value: next }], {}), sweeper.sweep(ns)]);
      expect(same((await kv.get(ns, "r", { kind: "keys", keys: [b("a")] }, ALL)).items[0]?.value, next)).toBe(
        true,
      );
    });

    it("start() sweeps in the background until stop()", async () => {
      const ns = ctx.ns();
      const kv = ctx.layer();
      await kv.put(ns, "r", [{ key: b("a"), value: pattern(100 * KiB, 55) }], {});
      await kv.put(ns, "r", [item("a", "small now")], {});
      const companion = () => ctx.raw().get(ns, companionId("r"), { kind: "all" }, ALL);
      expect((await companion()).items.length).toBeGreaterThan(0);
      const sweeper = new ChunkSweeper(ctx.raw(), { graceMs: 0, pauseMs: 0, intervalMs: 10 });
      sweeper.start(() => [ns]);
      for (let i = 0; i < 200 && (await companion()).items.length > 0; i++) await sleep(10);
      await sweeper.stop();
      expect((await companion()).items).toEqual([]);
      expect(Buffer.from((await kv.get(ns, "r", { kind: "all" }, ALL)).items[0]!.value).toString()).toBe(
        "small now",
      );
    });

    it("a reader whose chunk set is swept under it returns the value that replaced it", async () => {
      const ns = ctx.ns();
      const raw = ctx.raw();
      const old = pattern(200 * KiB, 60);
      const replacement = pattern(200 * KiB, 61);
      let hold: Promise<void> | undefined;
      let held: () => void = () => undefined;
      const gated = spy(raw, (call) =>
        call.method === "get" && call.id === companionId("r") ? hold : undefined,
      );
      const kv = chunked(gated.kv, { chunkBytes: 64 * KiB, maxValueBytes: 16 * MiB });
      await kv.put(ns, "r", [{ key: b("v"), value: old }], {});
      hold = new Promise((resolve) => {
        held = resolve;
      });
      const reading = kv.get(ns, "r", { kind: "all" }, ALL);
      await sleep(20); // the reader has its manifest and waits for chunks
      hold = undefined;
      await kv.put(ns, "r", [{ key: b("v"), value: replacement }], {});
      expect((await new ChunkSweeper(raw, { pauseMs: 0 }).sweep(ns, { now: later() })).removedSets).toBe(1);
      held();
      const { items } = await reading;
      expect(same(items[0]?.value, replacement)).toBe(true);
    });

    it("a soft deadline returns the items already complete, and paging resumes without loss", async () => {
      const ns = ctx.ns();
      const raw = ctx.raw();
      const slow = spy(raw, (call) =>
        call.method === "get" && call.id?.startsWith("\u0001") ? sleep(40) : undefined,
      );
      const kv = chunked(slow.kv, { chunkBytes: 64 * KiB, maxValueBytes: 16 * MiB });
      const values = [0, 1, 2, 3, 4, 5].map((i) => pattern(100 * KiB, 70 + i));
      await kv.put(
        ns,
        "r",
        values.map((value, i) => ({ key: b(`k${i}`), value })),
        {},
      );
      const got: KvItem[] = [];
      let after: Uint8Array | undefined;
      let pages = 0;
      for (let guard = 0; guard < 20; guard++) {
        pages++;
        const page = await kv.get(
          ns,
          "r",
          { kind: "all" },
          { ...ALL, softDeadline: Date.now() + 60, ...(after ? { after } : {}) },
        );
        expect(page.items.length).toBeGreaterThan(0);
        got.push(...page.items);
        if (!page.more) break;
        after = page.items.at(-1)!.key;
      }
      expect(pages).toBeGreaterThan(1);
      expect(got.map((i) => Buffer.from(i.key).toString())).toEqual(["k0", "k1", "k2", "k3", "k4", "k5"]);
      got.forEach((g, i) => {
        expect(same(g.value, values[i]!)).toBe(true);
      });
      // Already past: still whole items (those the read-ahead finished), never an empty page.
      const past = await kv.get(ns, "r", { kind: "all" }, { ...ALL, softDeadline: Date.now() - 1 });
      expect(past.items.length).toBeGreaterThanOrEqual(1);
      expect(past.items.length).toBeLessThan(6);
      expect(past.more).toBe(true);
      past.items.forEach((g, i) => {
        expect(same(g.value, values[i]!)).toBe(true);
      });
      const scanned = await kv.scan(ns, { ...ALL, softDeadline: Date.now() - 1 });
      expect(scanned.rows.length).toBeGreaterThanOrEqual(1);
      expect(scanned.rows.length).toBeLessThan(6);
      expect(scanned.more).toBe(true);
      expect(same(scanned.rows[0]!.item.value, values[0]!)).toBe(true);
    });
  });
}
