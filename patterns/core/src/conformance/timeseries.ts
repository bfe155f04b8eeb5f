import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Backend } from "../backend.js";
import { isPrismError } from "../errors.js";
import type { TimeSeriesBackend, TsNamespaceSettings } from "../timeseries.js";
import { b, freshNamespace } from "./fixtures.js";
import {
  event,
  ids,
  nowUs,
  readOptions,
  SETTINGS,
  TailReader,
  views,
  WAIT_MS,
  YEAR_MS,
} from "./timeseries-fixtures.js";
import { timeSeriesReadTests } from "./timeseries-read.js";
import { timeSeriesScanTests } from "./timeseries-scan.js";
import { timeSeriesTailTests } from "./timeseries-tail.js";

/** A backend under test: how to open it. */
export interface TimeSeriesConformanceTarget {
  /** Shown in test names, e.g. `postgres`. */
  name: string;
  open(): Promise<Backend>;
}

/** What the read, tail and scan tests need from the suite that opened the backend. */
export interface TsSuiteContext {
  ts(): TimeSeriesBackend;
}

/**
 * The TimeSeries conformance suite: writes and duplicates, reads and paging, tail (catch-up, live
 * and the hand-over between them), namespace scans, retention, cancellation and declared
 * capabilities. Every test uses a fresh namespace.
 *
 * @example timeSeriesConformance({ name: "memory", open: async () => memoryDriver.open(ctx) })
 */
export function timeSeriesConformance(target: TimeSeriesConformanceTarget): void {
  describe(`TimeSeries conformance: ${target.name}`, () => {
    let backend: Backend;
    let ts: TimeSeriesBackend;

    beforeAll(async () => {
      backend = await target.open();
      if (!backend.timeseries) throw new Error(`${target.name} does not implement timeseries`);
      ts = backend.timeseries;
    });
    afterAll(async () => backend?.close());

    it("declares its capabilities as booleans", () => {
      expect(typeof ts.capabilities.liveTail).toBe("boolean");
      expect(typeof ts.capabilities.nativeRetention).toBe("boolean");
    });

    timeSeriesWriteTests({ ts: () => ts });
    timeSeriesReadTests({ ts: () => ts });
    timeSeriesTailTests({ ts: () => ts });
    timeSeriesScanTests({ ts: () => ts });
    timeSeriesRetentionTests({ ts: () => ts });
    timeSeriesSignalTests({ ts: () => ts });
  });
}

function timeSeriesWriteTests(ctx: TsSuiteContext): void {
  let ts: TimeSeriesBackend;
  beforeEach(() => {
    ts = ctx.ts();
  });
  const opts = { settings: SETTINGS };

  describe("write", () => {
    it("counts new events as written and a replayed batch as duplicates", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      const batch = [event(base, "a"), event(base + 1n, "b"), event(base + 2n, "c")];
      expect(await ts.write(ns, "s", batch, opts)).toEqual({ written: 3, duplicates: 0 });
      expect(await ts.write(ns, "s", batch, opts)).toEqual({ written: 0, duplicates: 3 });
      const { events } = await ts.read(ns, "s", readOptions(base, base + 10n));
      expect(views(events)).toEqual(views(batch));
    });

    it("counts a batch mixing stored and new events per event", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      await ts.write(ns, "s", [event(base, "a"), event(base + 2n, "c")], opts);
      const mixed = [event(base + 1n, "b"), event(base, "a"), event(base + 3n, "d"), event(base + 2n, "c")];
      expect(await ts.write(ns, "s", mixed, opts)).toEqual({ written: 2, duplicates: 2 });
      const { events } = await ts.read(ns, "s", readOptions(base, base + 10n));
      expect(ids(events)).toEqual(ids([mixed[1]!, mixed[0]!, mixed[3]!, mixed[2]!]));
    });

    it("counts a repeat inside one batch as a duplicate", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      const batch = [event(base, "x"), event(base + 1n, "y"), event(base, "x")];
      expect(await ts.write(ns, "s", batch, opts)).toEqual({ written: 2, duplicates: 1 });
      const { events } = await ts.read(ns, "s", readOptions(base, base + 10n));
      expect(ids(events)).toEqual(ids([batch[0]!, batch[1]!]));
    });

    it("keeps the first write of an identity: a repeat with another payload changes nothing", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      await ts.write(ns, "s", [event(base, "a", b("first"), { v: "1" })], opts);
      const again = await ts.write(ns, "s", [event(base, "a", b("second"), { v: "2" })], opts);
      expect(again).toEqual({ written: 0, duplicates: 1 });
      const { events } = await ts.read(ns, "s", readOptions(base, base + 1n));
      expect(views(events)).toEqual(views([event(base, "a", b("first"), { v: "1" })]));
    });

    it("identifies events by series, time and id: other series and other ids are distinct", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      expect(await ts.write(ns, "s1", [event(base, "a")], opts)).toEqual({ written: 1, duplicates: 0 });
      expect(await ts.write(ns, "s2", [event(base, "a")], opts)).toEqual({ written: 1, duplicates: 0 });
      expect(await ts.write(ns, "s1", [event(base, "b"), event(base + 1n, "a")], opts)).toEqual({
        written: 2,
        duplicates: 0,
      });
      const s1 = await ts.read(ns, "s1", readOptions(base, base + 10n));
      expect(ids(s1.events)).toEqual([`${base}/a`, `${base}/b`, `${base + 1n}/a`]);
      const s2 = await ts.read(ns, "s2", readOptions(base, base + 10n));
      expect(ids(s2.events)).toEqual([`${base}/a`]);
    });

    it("keeps namespaces apart", async () => {
      const first = freshNamespace();
      const second = freshNamespace();
      const base = nowUs() - 60_000_000n;
      await ts.write(first, "s", [event(base, "a", b("first"))], opts);
      expect(await ts.write(second, "s", [event(base, "a", b("second"))], opts)).toEqual({
        written: 1,
        duplicates: 0,
      });
      const { events } = await ts.read(first, "s", readOptions(base, base + 1n));
      expect(views(events)).toEqual(views([event(base, "a", b("first"))]));
    });

    it("writes an empty batch as nothing", async () => {
      const ns = freshNamespace();
      expect(await ts.write(ns, "s", [], opts)).toEqual({ written: 0, duplicates: 0 });
    });
  });
}

function timeSeriesRetentionTests(ctx: TsSuiteContext): void {
  let ts: TimeSeriesBackend;
  beforeEach(() => {
    ts = ctx.ts();
  });
  const HOUR_US = 3_600_000_000n;
  const settings: TsNamespaceSettings = {
    retentionMs: 3_600_000,
    acceptPastMs: 24 * 3_600_000,
    acceptFutureMs: 3_600_000,
  };

  describe("retain", () => {
    it("removes events older than retention, keeps recent ones and other namespaces", async () => {
      const ns = freshNamespace();
      const other = freshNamespace();
      const now = nowUs();
      const old = [event(now - 3n * HOUR_US, "old-1"), event(now - 2n * HOUR_US, "old-2")];
      const recent = [event(now - 60_000_000n, "new-1"), event(now - 1_000_000n, "new-2")];
      await ts.write(ns, "s1", [...old, ...recent], { settings });
      await ts.write(ns, "s2", [event(now - 2n * HOUR_US, "old-3"), event(now - 1n, "new-3")], { settings });
      const otherSettings = { ...settings, retentionMs: 10 * YEAR_MS };
      await ts.write(other, "s1", old, { settings: otherSettings });

      const result = await ts.retain(ns, { settings });
      if (!ts.capabilities.nativeRetention && result.removed !== undefined) expect(result.removed).toBe(3);
      const cutoff = now - HOUR_US;
      const live = readOptions(cutoff, now + HOUR_US, { settings });
      expect(ids((await ts.read(ns, "s1", live)).events)).toEqual(ids(recent));
      expect(ids((await ts.read(ns, "s2", live)).events)).toEqual([`${now - 1n}/new-3`]);

      if (!ts.capabilities.nativeRetention) {
        // Undeclared native retention: retain itself must have deleted the old events.
        const everything = readOptions(0n, now + HOUR_US, { settings });
        expect(ids((await ts.read(ns, "s1", everything)).events)).toEqual(ids(recent));
        expect(ids((await ts.read(ns, "s2", everything)).events)).toEqual([`${now - 1n}/new-3`]);
        const kept = readOptions(0n, now + HOUR_US, { settings: otherSettings });
        expect(ids((await ts.read(other, "s1", kept)).events)).toEqual(ids(old));
      }
    });

    it("is idempotent", async () => {
      const ns = freshNamespace();
      const now = nowUs();
      await ts.write(ns, "s", [event(now - 2n * HOUR_US, "old"), event(now - 1n, "new")], { settings });
      await ts.retain(ns, { settings });
      const second = await ts.retain(ns, { settings });
      if (!ts.capabilities.nativeRetention && second.removed !== undefined) expect(second.removed).toBe(0);
      const { events } = await ts.read(ns, "s", readOptions(now - HOUR_US, now + HOUR_US, { settings }));
      expect(ids(events)).toEqual([`${now - 1n}/new`]);
    });

    it("succeeds on a namespace with no events", async () => {
      await expect(ts.retain(freshNamespace(), { settings })).resolves.toBeDefined();
    });
  });
}

function timeSeriesSignalTests(ctx: TsSuiteContext): void {
  let ts: TimeSeriesBackend;
  beforeEach(() => {
    ts = ctx.ts();
  });
  const cancelled = () => AbortSignal.abort();
  const timedOut = () => {
    const reason = new Error("deadline");
    reason.name = "TimeoutError";
    return AbortSignal.abort(reason);
  };
  const kindOf = async (call: Promise<unknown>): Promise<string> => {
    try {
      await call;
      return "resolved";
    } catch (error) {
      return isPrismError(error) ? error.kind : `not a PrismError: ${String(error)}`;
    }
  };

  describe("signal", () => {
    it("rejects write, read and retain with Cancelled or DeadlineExceeded, and writes nothing", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      const batch = [event(base, "a")];
      expect(await kindOf(ts.write(ns, "s", batch, { settings: SETTINGS, signal: cancelled() }))).toBe(
        "Cancelled",
      );
      expect(await kindOf(ts.write(ns, "s", batch, { settings: SETTINGS, signal: timedOut() }))).toBe(
        "DeadlineExceeded",
      );
      expect((await ts.read(ns, "s", readOptions(base, base + 1n))).events).toEqual([]);
      await ts.write(ns, "s", batch, { settings: SETTINGS });
      const read = (signal: AbortSignal) => ts.read(ns, "s", { ...readOptions(base, base + 1n), signal });
      expect(await kindOf(read(cancelled()))).toBe("Cancelled");
      expect(await kindOf(read(timedOut()))).toBe("DeadlineExceeded");
      expect(await kindOf(ts.retain(ns, { settings: SETTINGS, signal: cancelled() }))).toBe("Cancelled");
    });

    it("ends a tail started with a fired signal, without events or an error", async () => {
      const ns = freshNamespace();
      const base = nowUs() - 60_000_000n;
      await ts.write(ns, "s", [event(base, "a")], { settings: SETTINGS });
      for (const signal of [cancelled(), timedOut()]) {
        const tail = new TailReader(
          ts.tail(ns, "s", { settings: SETTINGS, startUs: base, tagFilter: {}, signal }),
        );
        await tail.expectEnd("the tail to end", WAIT_MS);
        expect(tail.events).toEqual([]);
      }
    });
  });
}
