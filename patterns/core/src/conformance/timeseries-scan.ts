import { beforeEach, describe, expect, it } from "vitest";
import { isPrismError } from "../errors.js";
import {
  eventBytes,
  eventKey,
  type TimeSeriesBackend,
  type TsEvent,
  type TsNamespaceSettings,
  type TsScanOptions,
  type TsScanResult,
} from "../timeseries.js";
import { b, freshNamespace } from "./fixtures.js";
import type { TsSuiteContext } from "./timeseries.js";
import { event, nowUs, SETTINGS, view } from "./timeseries-fixtures.js";

/** The longest cursor the contract allows. */
const MAX_CURSOR_CHARS = 4096;

/** A scanned event as a comparable value: its series and the event's view. */
type Scanned = { seriesId: string } & ReturnType<typeof view>;

/**
 * The scan half of the TimeSeries conformance suite: every stored, unexpired event of a namespace
 * comes back (at least once, with equal payloads and tags) across pages bounded by `limitEvents`
 * and `limitBytes`; cursors continue in a fresh call, belong to their namespace, and refuse
 * garbage; expired events and other namespaces stay out.
 */
export function timeSeriesScanTests(ctx: TsSuiteContext): void {
  let ts: TimeSeriesBackend;
  beforeEach(() => {
    ts = ctx.ts();
  });
  const opts = { settings: SETTINGS };
  const scanOptions = (more: Partial<TsScanOptions> = {}): TsScanOptions => ({
    settings: SETTINGS,
    limitEvents: 1000,
    limitBytes: 64 << 20,
    ...more,
  });

  /** Writes a few series with shared and distinct times, tags and payloads of many sizes. */
  const writeSeries = async (ns: string, marker: string): Promise<Map<string, Scanned>> => {
    const base = nowUs() - 600_000_000n;
    const written = new Map<string, Scanned>();
    const series = ["s-a", "s-b", "é-series", "s-😀", "S-upper"];
    for (const [s, seriesId] of series.entries()) {
      const events: TsEvent[] = [];
      for (let i = 0; i < 17; i++) {
        // Equal times across series and within one (ids decide), payloads from 0 to ~120 bytes.
        const time = base + BigInt(Math.floor(i / 3));
        const payload = b(`${marker}:${seriesId}:${i}:${"x".repeat((i * 7 + s * 11) % 120)}`);
        const tags: Record<string, string> = i % 4 === 0 ? {} : { host: `h${i % 3}`, series: seriesId };
        events.push(event(time, `${marker}-${String(i).padStart(2, "0")}`, payload, tags));
      }
      // Two writes, newest times first, so arrival order differs from any read order.
      await ts.write(ns, seriesId, events.slice(9).reverse(), opts);
      await ts.write(ns, seriesId, events.slice(0, 9), opts);
      for (const e of events) written.set(scanKey(seriesId, e), { seriesId, ...view(e) });
    }
    return written;
  };

  describe("scan", () => {
    it("finds nothing in an empty namespace and ends at once", async () => {
      const page = await ts.scan(freshNamespace(), scanOptions({ limitEvents: 7 }));
      expect(page.events).toEqual([]);
      expect(page.cursor).toBeUndefined();
    });

    it("pages through every series by limitEvents and by limitBytes, and nothing else", async () => {
      const ns = freshNamespace();
      const other = freshNamespace();
      const written = await writeSeries(ns, "ns");
      await writeSeries(other, "other");

      for (const limits of [
        { limitEvents: 7, limitBytes: 64 << 20 },
        { limitEvents: 1000, limitBytes: 300 },
        { limitEvents: 1, limitBytes: 1 },
      ]) {
        const pages = await scanPages(ts, ns, scanOptions(limits));
        const what = `limitEvents ${limits.limitEvents}, limitBytes ${limits.limitBytes}`;
        for (const page of pages) {
          expect(page.events.length, what).toBeLessThanOrEqual(limits.limitEvents);
          const bytes = page.events.reduce((sum, { event: e }) => sum + eventBytes(e), 0);
          if (page.events.length > 1) expect(bytes, what).toBeLessThanOrEqual(limits.limitBytes);
        }
        expect(collect(pages, what), what).toEqual(written);
      }
    });

    it("continues from a cursor in a fresh call, the same way every time", async () => {
      const ns = freshNamespace();
      const written = await writeSeries(ns, "c");
      const first = await ts.scan(ns, scanOptions({ limitEvents: 7 }));
      expect(first.events.length).toBeGreaterThan(0);
      expect(first.cursor).toBeDefined();
      // Only the string travels, as when a backfill job restores it from its checkpoint.
      const cursor = String(first.cursor);
      const rest = await scanPages(ts, ns, scanOptions({ limitEvents: 7, cursor }));
      const again = await scanPages(ts, ns, scanOptions({ limitEvents: 7, cursor }));
      const scanned = (pages: TsScanResult[]) =>
        pages.flatMap((page) => page.events.map(({ seriesId, event: e }) => scanKey(seriesId, e)));
      expect(scanned(again)).toEqual(scanned(rest));
      expect(collect([first, ...rest], "first page and the rest")).toEqual(written);
    });

    it("ends while writes keep arriving, with every event stored before it started", async () => {
      const ns = freshNamespace();
      const written = await writeSeries(ns, "w");
      const base = nowUs() - 60_000_000n;
      const late = new Set<string>();
      const pages: TsScanResult[] = [];
      let cursor: string | undefined;
      // More new events per page than a page takes: a scan that followed the log's growing end,
      // or the table past its current position, would never end. "!" sorts before every series
      // written above, behind a table scan's position from the first page on.
      for (let page = 0; page < 200; page++) {
        const result = await ts.scan(ns, scanOptions({ limitEvents: 7, ...(cursor ? { cursor } : {}) }));
        pages.push(result);
        cursor = result.cursor;
        if (cursor === undefined) break;
        const more = Array.from({ length: 10 }, (_, i) => event(base + BigInt(page), `late-${page}-${i}`));
        await ts.write(ns, "!", more, opts);
        for (const e of more) late.add(scanKey("!", e));
      }
      expect(cursor, "the scan to end").toBeUndefined();
      const scanned = collect(pages, "scan during writes");
      for (const [key, value] of written) expect(scanned.get(key), key).toEqual(value);
      for (const key of scanned.keys()) expect(written.has(key) || late.has(key), key).toBe(true);
    });

    it("leaves out events older than the namespace's retention", async () => {
      const ns = freshNamespace();
      const now = nowUs();
      const hourUs = 3_600_000_000n;
      const kept = [event(now - 60_000_000n, "recent-1"), event(now - 1_000_000n, "recent-2")];
      const old = [event(now - 3n * hourUs, "old-1"), event(now - 2n * hourUs, "old-2")];
      await ts.write(ns, "s1", [...old, kept[0]!], opts);
      await ts.write(ns, "s2", [kept[1]!, event(now - 5n * hourUs, "old-3")], opts);
      const settings: TsNamespaceSettings = { ...SETTINGS, retentionMs: 3_600_000 };
      const pages = await scanPages(ts, ns, scanOptions({ settings, limitEvents: 1 }));
      const expected = new Map([
        [scanKey("s1", kept[0]!), { seriesId: "s1", ...view(kept[0]!) }],
        [scanKey("s2", kept[1]!), { seriesId: "s2", ...view(kept[1]!) }],
      ]);
      expect(collect(pages, "unexpired events")).toEqual(expected);
    });

    it("refuses a malformed cursor and another namespace's cursor as InvalidArgument", async () => {
      const ns = freshNamespace();
      const other = freshNamespace();
      await writeSeries(ns, "m");
      await writeSeries(other, "m");
      const foreign = (await ts.scan(other, scanOptions({ limitEvents: 2 }))).cursor;
      expect(foreign).toBeDefined();
      for (const cursor of ["not a cursor", "AAAA", "eyJ4IjoxfQ", "%%%", foreign!]) {
        expect(await kindOf(ts.scan(ns, scanOptions({ cursor }))), cursor).toBe("InvalidArgument");
      }
    });

    it("rejects with Cancelled or DeadlineExceeded when the signal fired", async () => {
      const ns = freshNamespace();
      await ts.write(ns, "s", [event(nowUs() - 1_000_000n, "a")], opts);
      const timedOut = new Error("deadline");
      timedOut.name = "TimeoutError";
      expect(await kindOf(ts.scan(ns, scanOptions({ signal: AbortSignal.abort() })))).toBe("Cancelled");
      expect(await kindOf(ts.scan(ns, scanOptions({ signal: AbortSignal.abort(timedOut) })))).toBe(
        "DeadlineExceeded",
      );
    });
  });
}

const scanKey = (seriesId: string, e: { eventTimeUs: bigint; eventId: string }): string =>
  `${seriesId}\u0000${eventKey(e)}`;

/**
 * Follows a scan's cursor to its end, from `options.cursor`. Checks the contract on the way:
 * every cursor is at most 4 KiB, and the scan ends.
 */
async function scanPages(
  ts: TimeSeriesBackend,
  namespace: string,
  options: TsScanOptions,
): Promise<TsScanResult[]> {
  const pages: TsScanResult[] = [];
  let cursor = options.cursor;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await ts.scan(namespace, { ...options, ...(cursor === undefined ? {} : { cursor }) });
    pages.push(page);
    if (page.cursor === undefined) return pages;
    if (page.cursor.length > MAX_CURSOR_CHARS) throw new Error(`a cursor of ${page.cursor.length} chars`);
    cursor = page.cursor;
  }
  throw new Error("the scan did not end");
}

/**
 * The distinct events of a scan by series and identity. A log may return an event twice: each
 * copy must then be equal (payload and tags included).
 */
function collect(pages: TsScanResult[], what: string): Map<string, Scanned> {
  const seen = new Map<string, Scanned>();
  for (const { seriesId, event: e } of pages.flatMap((page) => page.events)) {
    const key = scanKey(seriesId, e);
    const scanned = { seriesId, ...view(e) };
    const earlier = seen.get(key);
    if (earlier) expect(scanned, `${what}: a repeated event`).toEqual(earlier);
    else seen.set(key, scanned);
  }
  return seen;
}

async function kindOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "resolved";
  } catch (error) {
    return isPrismError(error) ? error.kind : `not a PrismError: ${String(error)}`;
  }
}
