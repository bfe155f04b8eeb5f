import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  compareEvents,
  eventBytes,
  eventKey,
  type TimeSeriesBackend,
  type TsEvent,
  type TsTailOptions,
} from "../timeseries.js";
import { b, freshNamespace, sleep } from "./fixtures.js";
import type { TsSuiteContext } from "./timeseries.js";
import {
  event,
  ids,
  nowUs,
  SETTINGS,
  TailReader,
  WAIT_MS,
  WaitTimeout,
  within,
} from "./timeseries-fixtures.js";

/** A tail batch may not exceed what one gRPC message carries by default, unless it is one event. */
const MAX_TAIL_BATCH_BYTES = 4 << 20;

/**
 * The tail half of the TimeSeries conformance suite: catch-up then live, the exact hand-over while
 * writes race it, tag filters, ending on abort and on `return()`, and pull-based batches.
 */
export function timeSeriesTailTests(ctx: TsSuiteContext): void {
  let ts: TimeSeriesBackend;
  let controller: AbortController;
  beforeEach(() => {
    ts = ctx.ts();
    controller = new AbortController();
  });
  // Every tail a test opens ends with it.
  afterEach(() => controller.abort());
  const opts = { settings: SETTINGS };
  const tailOptions = (more: Partial<TsTailOptions>): TsTailOptions => ({
    settings: SETTINGS,
    tagFilter: {},
    signal: controller.signal,
    ...more,
  });
  const sorted = (events: TsEvent[]) => [...events].sort(compareEvents);
  /** Writes a sentinel and waits for it: whatever arrived by then is everything the tail sent before it. */
  const settle = async (tail: TailReader, ns: string, sentinel: TsEvent) => {
    await ts.write(ns, "s", [sentinel], opts);
    await tail.until((events) => events.some((e) => e.eventId === sentinel.eventId), "the sentinel event");
  };

  describe("tail", () => {
    it("catches up from startUs in read order, then streams new events in write order", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      const stored = [
        event(base + 3n, "s3"),
        event(base, "s0", b("first"), { k: "v" }),
        event(base + 1n, "s1-b"),
        event(base + 1n, "s1-a"),
        event(base + 2n, "s2"),
      ];
      // One write each, so the arrival order differs from the read order.
      for (const e of [event(base - 1n, "before-start"), ...stored]) await ts.write(ns, "s", [e], opts);
      const tail = new TailReader(ts.tail(ns, "s", tailOptions({ startUs: base })));
      await tail.until((events) => events.length >= stored.length, "the stored events");
      expect(ids(tail.events)).toEqual(ids(sorted(stored)));

      // Live events arrive in write order, whatever their times (≥ start).
      const live = [
        event(base + 10n, "l1", b("live"), { k: "w" }),
        event(base, "l2"),
        event(base + 2n, "l3"),
      ];
      for (const e of live) await ts.write(ns, "s", [e], opts);
      await ts.write(ns, "other-series", [event(base + 5n, "elsewhere")], opts);
      await ts.write(freshNamespace(), "s", [event(base + 5n, "other-namespace")], opts);
      const sentinel = event(base + 20n, "sentinel");
      await settle(tail, ns, sentinel);
      expect(ids(tail.events)).toEqual(ids([...sorted(stored), ...live, sentinel]));
      expect(tail.events[0]!.tags).toEqual({ k: "v" });
      expect(Buffer.from(tail.events[stored.length]!.payload).toString()).toBe("live");
    });

    it("without startUs, sends only events written after it started, each once and in order", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      await ts.write(ns, "s", [event(base, "old-1"), event(base + 1000n, "old-2")], opts);
      const tail = new TailReader(ts.tail(ns, "s", tailOptions({})));
      tail.start();
      // When exactly the tail is running is up to the backend: write until it sees something.
      const written: TsEvent[] = [];
      const deadline = Date.now() + WAIT_MS;
      while (tail.events.length === 0) {
        if (Date.now() > deadline)
          throw new Error("the tail saw none of the events written after it started");
        const e = event(base + 100n + BigInt(written.length), `live-${written.length}`);
        await ts.write(ns, "s", [e], opts);
        written.push(e);
        await tail.next("a live event", 250).catch((error: unknown) => {
          if (!(error instanceof WaitTimeout)) throw error;
        });
      }
      const first = written.findIndex((e) => e.eventId === tail.events[0]!.eventId);
      expect(first, `first event ${tail.events[0]!.eventId}`).toBeGreaterThanOrEqual(0);
      const more = [event(base + 1n, "after-1"), event(base + 999_999n, "after-2")];
      for (const e of more) await ts.write(ns, "s", [e], opts);
      const sentinel = event(base + 5n, "sentinel");
      await settle(tail, ns, sentinel);
      expect(ids(tail.events)).toEqual(ids([...written.slice(first), ...more, sentinel]));
    });

    it("hands over from catch-up to live exactly while concurrent writes race it", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      // Pseudo-random times in [base, base + 1 s): writes land both behind and ahead of the catch-up.
      const at = (n: number) => base + BigInt((n * 7_919) % 1_000_000);
      const stored = Array.from({ length: 1000 }, (_, n) => event(at(n), `stored-${n}`));
      await ts.write(ns, "s", stored, opts);
      const writers = 4;
      const batches = 25;
      const perBatch = 4;
      const racing: TsEvent[] = [];
      let acknowledged = 0;
      const write = async (w: number) => {
        for (let k = 0; k < batches; k++) {
          const batch = Array.from({ length: perBatch }, (_, i) => {
            const n = 2000 + (w * batches + k) * perBatch + i;
            return event(at(n), `race-${w}-${k}-${i}`);
          });
          racing.push(...batch);
          await ts.write(ns, "s", batch, opts);
          acknowledged++;
          await sleep(1 + (k % 3));
        }
      };
      const writing = Promise.all(Array.from({ length: writers }, (_, w) => write(w)));
      const deadline = Date.now() + WAIT_MS;
      while (acknowledged < writers * 3 && Date.now() < deadline) await sleep(1);

      const tail = new TailReader(ts.tail(ns, "s", tailOptions({ startUs: base })));
      const total = stored.length + writers * batches * perBatch;
      const distinct = (events: TsEvent[]) => new Set(events.map(eventKey)).size;
      // A consumer that pauses after each batch, so writes land while the catch-up is under way.
      const receiving = (async () => {
        const deadline = Date.now() + 3 * WAIT_MS;
        while (distinct(tail.events) < total) {
          if (!(await tail.next(`all ${total} events`, Math.max(1, deadline - Date.now())))) {
            throw new Error("the tail ended early");
          }
          await sleep(3);
        }
      })();
      await within(writing, 3 * WAIT_MS, "the writers");
      expect(acknowledged).toBe(writers * batches);
      await receiving;
      await settle(tail, ns, event(base + 2_000_000n, "sentinel"));

      const counts = new Map<string, number>();
      for (const e of tail.events) counts.set(eventKey(e), (counts.get(eventKey(e)) ?? 0) + 1);
      const duplicated = [...counts].filter(([, n]) => n > 1).map(([key]) => key.replace("\u0000", "/"));
      expect(duplicated).toEqual([]);
      const expected = new Set([...stored, ...racing].map(eventKey));
      const missing = [...expected].filter((key) => !counts.has(key));
      expect(missing).toEqual([]);
      expect(tail.events.length).toBe(total + 1);
    });

    it("applies the tag filter to catch-up and live events", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      const keep = (t: bigint, id: string) => event(t, id, b(id), { kind: "keep", n: id });
      const drop = (t: bigint, id: string) => event(t, id, b(id), { kind: "drop", n: id });
      await ts.write(ns, "s", [keep(base, "k1"), drop(base + 1n, "d1"), keep(base + 2n, "k2")], opts);
      await ts.write(ns, "s", [event(base + 3n, "untagged")], opts);
      const tail = new TailReader(
        ts.tail(ns, "s", tailOptions({ startUs: base, tagFilter: { kind: "keep" } })),
      );
      await tail.until((events) => events.length >= 2, "the stored matching events");
      await ts.write(ns, "s", [drop(base + 4n, "d2"), keep(base + 5n, "k3"), drop(base + 6n, "d3")], opts);
      await settle(tail, ns, keep(base + 7n, "k4"));
      expect(ids(tail.events)).toEqual(
        ids([keep(base, "k1"), keep(base + 2n, "k2"), keep(base + 5n, "k3"), keep(base + 7n, "k4")]),
      );
    });

    it("ends without an error when its signal fires, while waiting or between pulls", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      await ts.write(ns, "s", [event(base, "a")], opts);
      const waiting = new TailReader(ts.tail(ns, "s", tailOptions({ startUs: base })));
      await waiting.until((events) => events.length === 1, "the stored event");
      waiting.start(); // a pull with nothing to send: it must wake up when the signal fires
      await sleep(50);
      controller.abort();
      await waiting.expectEnd("the waiting tail to end");

      const idle = new AbortController();
      const between = new TailReader(ts.tail(ns, "s", tailOptions({ startUs: base, signal: idle.signal })));
      await between.until((events) => events.length === 1, "the stored event");
      idle.abort();
      await between.expectEnd("the idle tail to end");
    });

    it("ends without an error when the consumer breaks out of for-await, in catch-up and live", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      await ts.write(ns, "s", [event(base, "a"), event(base + 1n, "b")], opts);
      const consume = async (stopAt: string) => {
        const seen: string[] = [];
        for await (const batch of ts.tail(ns, "s", tailOptions({ startUs: base }))) {
          seen.push(...batch.map((e) => e.eventId));
          if (seen.includes(stopAt)) break;
          if (seen.includes("b") && !seen.includes("live"))
            await ts.write(ns, "s", [event(base + 2n, "live")], opts);
        }
        return seen;
      };
      expect(await within(consume("a"), WAIT_MS, "a break in catch-up")).toContain("a");
      expect(await within(consume("live"), WAIT_MS, "a break in live")).toEqual(["a", "b", "live"]);
      // The backend is still fine after both tails ended.
      expect(await ts.write(ns, "s", [event(base + 3n, "later")], opts)).toEqual({
        written: 1,
        duplicates: 0,
      });
    });

    it("sends a large backlog in bounded batches, one per pull, then continues live", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      const payload = new Uint8Array(128 * 1024).fill(7);
      const stored = Array.from({ length: 64 }, (_, n) => event(base + BigInt(n), `big-${n}`, payload));
      for (let i = 0; i < stored.length; i += 8) await ts.write(ns, "s", stored.slice(i, i + 8), opts);
      const tail = new TailReader(ts.tail(ns, "s", tailOptions({ startUs: base })));
      const first = await tail.next("the first batch");
      expect(first?.length).toBeGreaterThan(0);
      // The consumer pauses; events keep arriving meanwhile.
      const live = [event(base + 100n, "live-1"), event(base + 101n, "live-2")];
      await ts.write(ns, "s", live, opts);
      await sleep(100);
      await tail.until(
        (events) => events.length >= stored.length + live.length,
        "the backlog and live events",
      );
      expect(ids(tail.events)).toEqual(ids([...stored, ...live]));
      for (const batch of tail.batches) {
        const bytes = batch.reduce((sum, e) => sum + eventBytes(e), 0);
        if (batch.length > 1) expect(bytes).toBeLessThanOrEqual(MAX_TAIL_BATCH_BYTES);
      }
    });
  });
}
