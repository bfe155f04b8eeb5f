import {
  compareEvents,
  compareUtf8,
  decodeSeriesScanCursor,
  encodeSeriesScanCursor,
  eventBytes,
  eventKey,
  matchesTags,
  type SeriesScanPosition,
  type TimeSeriesBackend,
  type TimeSeriesCapabilities,
  type TsCallOptions,
  type TsEvent,
  type TsReadOptions,
  type TsScanOptions,
  type TsScanResult,
  type TsTailOptions,
  type TsWriteOptions,
  takePage,
  throwIfAborted,
} from "@prism/core";

/** A stored event with its arrival number within the series. */
interface Stored {
  seq: number;
  event: TsEvent;
}

interface Series {
  /** In read order (`compareEvents`). */
  sorted: Stored[];
  keys: Set<string>;
  /** The same events in arrival order: each tail keeps its own cursor (a seq) into it. */
  log: Stored[];
  nextSeq: number;
  /** Tails waiting for the next write. */
  waiters: Set<() => void>;
}

/** How much one tail batch carries at most. */
const TAIL_BATCH = { limitItems: 256, limitBytes: 1 << 20 } as const;

/**
 * TimeSeries in process memory. Each call runs synchronously, so a tail's hand-over is exact by
 * arrival number: catch-up sends stored events that arrived before the tail started, live sends
 * every event from that arrival number on, and the two sets cannot overlap.
 */
export class MemoryTimeSeries implements TimeSeriesBackend {
  readonly capabilities: TimeSeriesCapabilities = { liveTail: true, nativeRetention: false };
  private readonly namespaces = new Map<string, Map<string, Series>>();

  async write(
    namespace: string,
    seriesId: string,
    events: TsEvent[],
    options: TsWriteOptions,
  ): Promise<{ written: number; duplicates: number }> {
    throwIfAborted(options.signal);
    const series = this.series(namespace, seriesId);
    let written = 0;
    for (const event of events) {
      const key = eventKey(event);
      if (series.keys.has(key)) continue;
      const stored: Stored = { seq: series.nextSeq++, event: copyEvent(event) };
      series.keys.add(key);
      series.sorted.splice(lowerBound(series.sorted, event), 0, stored);
      series.log.push(stored);
      written++;
    }
    if (written > 0) for (const wake of series.waiters) wake();
    return { written, duplicates: events.length - written };
  }

  async read(
    namespace: string,
    seriesId: string,
    options: TsReadOptions,
  ): Promise<{ events: TsEvent[]; more: boolean }> {
    throwIfAborted(options.signal);
    const series = this.namespaces.get(namespace)?.get(seriesId);
    if (!series) return { events: [], more: false };
    const { page, more } = takePage(inRange(series.sorted, options), eventBytes, {
      limitItems: options.limitEvents,
      limitBytes: options.limitBytes,
    });
    return { events: page, more };
  }

  async *tail(namespace: string, seriesId: string, options: TsTailOptions): AsyncGenerator<TsEvent[]> {
    const { signal, tagFilter } = options;
    if (signal?.aborted) return;
    const series = this.series(namespace, seriesId);
    // Everything that arrives from here on is live; catch-up sends only what arrived before.
    const handOver = series.nextSeq;
    if (options.startUs !== undefined) {
      let after: TsEvent | undefined;
      for (;;) {
        const { page, more } = takePage(
          catchUp(series.sorted, options.startUs, after, handOver, tagFilter),
          eventBytes,
          TAIL_BATCH,
        );
        if (page.length > 0) {
          yield page;
          if (signal?.aborted) return;
          after = page.at(-1);
        }
        if (!more) break;
      }
    }
    let cursor = handOver;
    for (;;) {
      const from = firstFromSeq(series.log, cursor);
      const pending = series.log.slice(from);
      const { page } = takePage(
        pending.filter((stored) => matchesTags(stored.event, tagFilter)),
        (stored) => eventBytes(stored.event),
        TAIL_BATCH,
      );
      if (page.length > 0) {
        cursor = page.at(-1)!.seq + 1;
        yield page.map((stored) => stored.event);
        if (signal?.aborted) return;
      } else {
        if (pending.length > 0) cursor = pending.at(-1)!.seq + 1;
        if (!(await nextWrite(series, signal))) return;
      }
    }
  }

  async retain(namespace: string, options: TsCallOptions): Promise<{ removed?: number }> {
    throwIfAborted(options.signal);
    const cutoff = BigInt(Date.now() - options.settings.retentionMs) * 1000n;
    let removed = 0;
    for (const series of this.namespaces.get(namespace)?.values() ?? []) {
      const end = lowerBound(series.sorted, { eventTimeUs: cutoff, eventId: "" });
      for (const stored of series.sorted.splice(0, end)) series.keys.delete(eventKey(stored.event));
      series.log = series.log.filter((stored) => stored.event.eventTimeUs >= cutoff);
      removed += end;
    }
    return { removed };
  }

  /** Pages by series id (UTF-8 byte order), then read order; the cursor is the last event returned. */
  async scan(namespace: string, options: TsScanOptions): Promise<TsScanResult> {
    throwIfAborted(options.signal);
    const after = decodeSeriesScanCursor(CURSOR_KIND, namespace, options.cursor);
    const cutoff = BigInt(Date.now() - options.settings.retentionMs) * 1000n;
    const all = this.namespaces.get(namespace) ?? new Map<string, Series>();
    const { page, more } = takePage(scanFrom(all, cutoff, after), (row) => eventBytes(row.event), {
      limitItems: options.limitEvents,
      limitBytes: options.limitBytes,
    });
    const last = page.at(-1);
    return {
      events: page,
      ...(more && last ? { cursor: encodeSeriesScanCursor(CURSOR_KIND, namespace, last) } : {}),
    };
  }

  private series(namespace: string, seriesId: string): Series {
    let all = this.namespaces.get(namespace);
    if (!all) {
      all = new Map();
      this.namespaces.set(namespace, all);
    }
    let series = all.get(seriesId);
    if (!series) {
      series = { sorted: [], keys: new Set(), log: [], nextSeq: 0, waiters: new Set() };
      all.set(seriesId, series);
    }
    return series;
  }
}

/** Index of the first stored event at or after `position` in read order. */
function lowerBound(sorted: Stored[], position: { eventTimeUs: bigint; eventId: string }): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEvents(sorted[mid]!.event, position) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first log entry with `seq >= seq` (the log is ordered by seq, with gaps after retain). */
function firstFromSeq(log: Stored[], seq: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The events of `[startUs, endUs)` matching the filter, in read order, strictly after `after`. */
function* inRange(sorted: Stored[], options: TsReadOptions): Generator<TsEvent> {
  const { startUs, endUs, after, tagFilter } = options;
  if (options.descending) {
    const upper = after ?? { eventTimeUs: endUs, eventId: "" };
    for (let i = lowerBound(sorted, upper) - 1; i >= 0; i--) {
      const { event } = sorted[i]!;
      if (event.eventTimeUs < startUs) return;
      if (event.eventTimeUs < endUs && matchesTags(event, tagFilter)) yield event;
    }
    return;
  }
  let i = after ? lowerBound(sorted, after) : lowerBound(sorted, { eventTimeUs: startUs, eventId: "" });
  if (after && i < sorted.length && compareEvents(sorted[i]!.event, after) === 0) i++;
  for (; i < sorted.length; i++) {
    const { event } = sorted[i]!;
    if (event.eventTimeUs >= endUs) return;
    if (event.eventTimeUs >= startUs && matchesTags(event, tagFilter)) yield event;
  }
}

/** Stored events from `startUs` in read order, after `after`, that arrived before `handOver`. */
function* catchUp(
  sorted: Stored[],
  startUs: bigint,
  after: TsEvent | undefined,
  handOver: number,
  tagFilter: Record<string, string>,
): Generator<TsEvent> {
  let i = after ? lowerBound(sorted, after) : lowerBound(sorted, { eventTimeUs: startUs, eventId: "" });
  if (after && i < sorted.length && compareEvents(sorted[i]!.event, after) === 0) i++;
  for (; i < sorted.length; i++) {
    const { seq, event } = sorted[i]!;
    if (seq < handOver && matchesTags(event, tagFilter)) yield event;
  }
}

/** Where a scan stands: the last event it returned. */

/** A namespace's unexpired events by series id, then in read order, strictly after `after`. */
function* scanFrom(
  all: Map<string, Series>,
  cutoff: bigint,
  after: SeriesScanPosition | undefined,
): Generator<{ seriesId: string; event: TsEvent }> {
  const seriesIds = [...all.keys()].sort(compareUtf8);
  for (const seriesId of seriesIds) {
    const order = after ? compareUtf8(seriesId, after.seriesId) : 1;
    if (order < 0) continue;
    const { sorted } = all.get(seriesId)!;
    let i = lowerBound(sorted, { eventTimeUs: cutoff, eventId: "" });
    if (order === 0) i = Math.max(i, lowerBound(sorted, after!));
    if (order === 0 && i < sorted.length && compareEvents(sorted[i]!.event, after!) === 0) i++;
    for (; i < sorted.length; i++) yield { seriesId, event: sorted[i]!.event };
  }
}

/** The kind of this backend's scan cursors (`@prism/core` `encodeSeriesScanCursor`). */
const CURSOR_KIND = "memory-scan-1";

/** Resolves true on the series' next write, false when `signal` fires first. */
function nextWrite(series: Series, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (written: boolean) => {
      series.waiters.delete(wake);
      signal?.removeEventListener("abort", aborted);
      resolve(written);
    };
    const wake = () => done(true);
    const aborted = () => done(false);
    series.waiters.add(wake);
    signal?.addEventListener("abort", aborted, { once: true });
  });
}

function copyEvent(event: TsEvent): TsEvent {
  return {
    eventTimeUs: event.eventTimeUs,
    eventId: event.eventId,
    payload: Uint8Array.from(event.payload),
    tags: { ...event.tags },
  };
}
