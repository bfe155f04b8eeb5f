import { beforeEach, describe, expect, it } from "vitest";
import { compareEvents, type TimeSeriesBackend, type TsEvent } from "../timeseries.js";
import { b, freshNamespace } from "./fixtures.js";
import type { TsSuiteContext } from "./timeseries.js";
import {
  event,
  ids,
  nowUs,
  readOptions,
  readPages,
  SETTINGS,
  views,
  YEAR_MS,
} from "./timeseries-fixtures.js";

/** Ids whose UTF-8 byte order differs from locale order ("B" < "a") and from UTF-16 order (U+FFFD < 😀). */
const IDS_IN_BYTE_ORDER = ["B", "Z", "a", "a-1", "a_1", "aa", "b", "é", "\uFFFD", "😀"];

/**
 * The read half of the TimeSeries conformance suite: ranges, order, paging, tag filters and exact
 * round trips of payloads, tags and microsecond times.
 */
export function timeSeriesReadTests(ctx: TsSuiteContext): void {
  let ts: TimeSeriesBackend;
  beforeEach(() => {
    ts = ctx.ts();
  });
  const opts = { settings: SETTINGS };
  const sorted = (events: TsEvent[]) => [...events].sort(compareEvents);

  describe("read", () => {
    it("returns nothing for a series that does not exist", async () => {
      const base = nowUs();
      expect(await ts.read(freshNamespace(), "missing", readOptions(base - 1000n, base))).toEqual({
        events: [],
        more: false,
      });
    });

    it("reads [start, end): start inclusive, end exclusive, ascending and exactly reversed", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      const five = [0n, 1n, 2n, 3n, 4n].map((i) => event(base + i, `e${i}`));
      await ts.write(ns, "s", [...five].reverse(), opts);
      const range = readOptions(base + 1n, base + 3n);
      expect(ids((await ts.read(ns, "s", range)).events)).toEqual(ids(five.slice(1, 3)));
      const down = await ts.read(ns, "s", { ...range, descending: true });
      expect(ids(down.events)).toEqual(ids(five.slice(1, 3).reverse()));
      expect(ids((await ts.read(ns, "s", readOptions(base + 4n, base + 5n))).events)).toEqual(
        ids([five[4]!]),
      );
      expect((await ts.read(ns, "s", readOptions(base + 5n, base + 100n))).events).toEqual([]);
      expect((await ts.read(ns, "s", readOptions(base - 100n, base))).events).toEqual([]);
    });

    it("orders equal times by event id as UTF-8 bytes, in both directions", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      const shuffled = [...IDS_IN_BYTE_ORDER].reverse().map((id) => event(base, id));
      shuffled.push(event(base - 1n, "z"), event(base + 1n, "A"));
      await ts.write(ns, "s", shuffled, opts);
      const expected = [
        `${base - 1n}/z`,
        ...IDS_IN_BYTE_ORDER.map((id) => `${base}/${id}`),
        `${base + 1n}/A`,
      ];
      const range = readOptions(base - 1n, base + 2n);
      expect(ids((await ts.read(ns, "s", range)).events)).toEqual(expected);
      expect(ids((await ts.read(ns, "s", { ...range, descending: true })).events)).toEqual(
        [...expected].reverse(),
      );
    });

    it("pages by limitEvents with `after`, stably through equal times, in both directions", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      const events = [
        ...["x", "y", "z"].map((id) => event(base, id)),
        ...["é", "b", "a", "B"].map((id) => event(base + 1n, id)),
        ...["m", "n"].map((id) => event(base + 2n, id)),
      ];
      await ts.write(ns, "s", events, opts);
      const expected = ids(sorted(events));
      for (const descending of [false, true]) {
        for (const limitEvents of [1, 2, 3, 4]) {
          const range = readOptions(base, base + 3n, { descending, limitEvents });
          const pages = await readPages(ts, ns, "s", range);
          const what = `${descending ? "descending" : "ascending"} by ${limitEvents}`;
          expect(ids(pages.flat()), what).toEqual(descending ? [...expected].reverse() : expected);
          // Every page but the last is full; the last may be empty when `more` was conservative.
          for (const page of pages.slice(0, -1)) expect(page.length, what).toBe(limitEvents);
        }
      }
    });

    it("continues strictly after a cursor that is not a stored event", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      await ts.write(
        ns,
        "s",
        ["a", "m", "z"].map((id) => event(base, id)),
        opts,
      );
      const after = { eventTimeUs: base, eventId: "n" };
      const up = await ts.read(ns, "s", { ...readOptions(base, base + 1n), after });
      expect(ids(up.events)).toEqual([`${base}/z`]);
      const down = await ts.read(ns, "s", { ...readOptions(base, base + 1n, { descending: true }), after });
      expect(ids(down.events)).toEqual([`${base}/m`, `${base}/a`]);
    });

    it("pages by id+payload+tag bytes: a page may reach limitBytes but not pass it", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      // Each event counts 2 (id) + 96 (payload) + 4 (tag key and value) = 102 bytes.
      const events = [0n, 1n, 2n, 3n, 4n].map((i) =>
        event(base + i, `e${i}`, new Uint8Array(96), { kk: "vv" }),
      );
      await ts.write(ns, "s", events, opts);
      const sizes = async (limitBytes: number, descending = false) =>
        (await readPages(ts, ns, "s", readOptions(base, base + 5n, { limitBytes, descending }))).map(
          (page) => page.length,
        );
      expect((await sizes(204)).filter((n) => n > 0)).toEqual([2, 2, 1]);
      expect((await sizes(204, true)).filter((n) => n > 0)).toEqual([2, 2, 1]);
      expect((await sizes(203)).filter((n) => n > 0)).toEqual([1, 1, 1, 1, 1]);
    });

    it("returns one event even when it alone exceeds limitBytes, and says more follow", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      await ts.write(ns, "s", [event(base, "big", new Uint8Array(1000)), event(base + 1n, "small")], opts);
      const first = await ts.read(ns, "s", readOptions(base, base + 2n, { limitBytes: 10 }));
      expect(ids(first.events)).toEqual([`${base}/big`]);
      expect(first.more).toBe(true);
      const after = { eventTimeUs: base, eventId: "big" };
      const second = await ts.read(ns, "s", { ...readOptions(base, base + 2n, { limitBytes: 10 }), after });
      expect(ids(second.events)).toEqual([`${base + 1n}/small`]);
    });

    it("filters by tags: an event must carry every filter tag with an equal value", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      const events = [
        event(base, "1", b("1"), { host: "a", dc: "x" }),
        event(base + 1n, "2", b("2"), { host: "b", dc: "x" }),
        event(base + 2n, "3", b("3"), { host: "a", dc: "y", extra: "z" }),
        event(base + 3n, "4", b("4"), {}),
        event(base + 4n, "5", b("5"), { host: "A" }),
      ];
      await ts.write(ns, "s", events, opts);
      const matching = async (tagFilter: Record<string, string>, limitEvents = 100) =>
        (await readPages(ts, ns, "s", readOptions(base, base + 5n, { tagFilter, limitEvents }))).flat();
      expect(ids(await matching({ host: "a" }))).toEqual(ids([events[0]!, events[2]!]));
      expect(ids(await matching({ host: "a", dc: "y" }))).toEqual(ids([events[2]!]));
      expect(ids(await matching({ dc: "x" }, 1))).toEqual(ids([events[0]!, events[1]!]));
      expect(ids(await matching({}))).toEqual(ids(events));
      expect(await matching({ host: "zz" })).toEqual([]);
      expect(await matching({ missing: "a" })).toEqual([]);
    });

    it("round-trips payloads (empty, every byte value, ~1 MiB) and tags exactly", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      const everyByte = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff);
      const large = Uint8Array.from({ length: 960 * 1024 }, (_, i) => (i * 31 + (i >> 10)) & 0xff);
      const events = [
        event(base, "empty", new Uint8Array()),
        event(base + 1n, "bytes", everyByte, { clé: "värde ✓", "k:with=punct": "a,b;c" }),
        event(base + 2n, "zeros", new Uint8Array(64), { a: "1", b: "2", c: "3", d: "4" }),
      ];
      await ts.write(ns, "s", events, opts);
      await ts.write(ns, "s", [event(base + 3n, "large", large, { size: "960KiB" })], opts);
      const pages = await readPages(ts, ns, "s", readOptions(base, base + 4n, { limitBytes: 1 << 20 }));
      expect(views(pages.flat())).toEqual(
        views([...events, event(base + 3n, "large", large, { size: "960KiB" })]),
      );
    });

    it("keeps microsecond times exactly, including before 1970 and beyond 2^53", async () => {
      const ns = freshNamespace();
      // A namespace that accepts and retains a few centuries either side of now.
      const wide = { retentionMs: 300 * YEAR_MS, acceptPastMs: 300 * YEAR_MS, acceptFutureMs: 300 * YEAR_MS };
      const base = nowUs() - 60_000_000n;
      const times = [-1_000_001n, 1n, base, base + 1n, 2n ** 52n, 2n ** 53n + 1n, 2n ** 53n + 2n];
      const events = times.map((t, i) => event(t, `t${i}`));
      expect(await ts.write(ns, "s", [...events].reverse(), { settings: wide })).toEqual({
        written: times.length,
        duplicates: 0,
      });
      const all = await ts.read(ns, "s", readOptions(-2_000_000n, 2n ** 53n + 3n, { settings: wide }));
      expect(views(all.events)).toEqual(views(events));
      for (const t of [base + 1n, 2n ** 53n + 1n, -1_000_001n]) {
        const one = await ts.read(ns, "s", readOptions(t, t + 1n, { settings: wide }));
        expect(ids(one.events)).toEqual(ids(events.filter((e) => e.eventTimeUs === t)));
      }
    });
  });
}
