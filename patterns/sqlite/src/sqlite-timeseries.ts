import { setTimeout as delay } from "node:timers/promises";
import {
  decodeSeriesScanCursor,
  encodeSeriesScanCursor,
  eventBytes,
  matchesTags,
  PrismError,
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
import type { SqliteDatabase, SqliteStatement } from "./sqlite-types.js";

/** better-sqlite3's switch that returns a statement's INTEGER columns as BigInt. */
interface BigIntStatement extends SqliteStatement {
  safeIntegers(on: boolean): BigIntStatement;
}

const COLUMNS = "event_time, event_id, payload, tags, seq";
const SERIES = "namespace = @namespace AND series_id = @seriesId";
const RANGE = "event_time >= @startUs AND event_time < @endUs";
const UP = "ORDER BY event_time, event_id";
const DOWN = "ORDER BY event_time DESC, event_id DESC";
const SCAN_ORDER = "ORDER BY series_id, event_time, event_id";

/** Every TimeSeries statement, prepared once per database. */
const SQL = {
  // A write statement first, so the transaction holds the write lock before it reads the counter.
  lastSeq: `INSERT INTO ts_series (namespace, series_id, last_seq) VALUES (@namespace, @seriesId, 0)
            ON CONFLICT (namespace, series_id) DO UPDATE SET last_seq = last_seq RETURNING last_seq`,
  setLastSeq: `UPDATE ts_series SET last_seq = @seq WHERE ${SERIES}`,
  readLastSeq: `SELECT last_seq FROM ts_series WHERE ${SERIES}`,
  insert: `INSERT OR IGNORE INTO ts_events (namespace, series_id, event_time, event_id, payload, tags, seq)
           VALUES (@namespace, @seriesId, @eventTimeUs, @eventId, @payload, @tags, @seq)`,
  up: `SELECT ${COLUMNS} FROM ts_events WHERE ${SERIES} AND ${RANGE} ${UP}`,
  upAfter: `SELECT ${COLUMNS} FROM ts_events WHERE ${SERIES} AND ${RANGE}
            AND (event_time, event_id) > (@afterTime, @afterId) ${UP}`,
  down: `SELECT ${COLUMNS} FROM ts_events WHERE ${SERIES} AND ${RANGE} ${DOWN}`,
  downAfter: `SELECT ${COLUMNS} FROM ts_events WHERE ${SERIES} AND ${RANGE}
              AND (event_time, event_id) < (@afterTime, @afterId) ${DOWN}`,
  // Catch-up: stored events from the start that arrived by the hand-over number, in read order.
  catchUp: `SELECT ${COLUMNS} FROM ts_events WHERE ${SERIES} AND event_time >= @startUs
            AND seq <= @handOver ${UP}`,
  catchUpAfter: `SELECT ${COLUMNS} FROM ts_events WHERE ${SERIES}
                 AND (event_time, event_id) > (@afterTime, @afterId) AND seq <= @handOver ${UP}`,
  arrivals: `SELECT ${COLUMNS} FROM ts_events WHERE ${SERIES} AND seq > @cursor ORDER BY seq LIMIT @limit`,
  // A namespace scan in primary-key order. `+event_time` keeps the planner on the primary key
  // (the retention index would need a sort of the whole namespace for every page).
  scan: `SELECT series_id, ${COLUMNS} FROM ts_events WHERE namespace = @namespace
         AND +event_time >= @cutoff ${SCAN_ORDER}`,
  scanAfter: `SELECT series_id, ${COLUMNS} FROM ts_events WHERE namespace = @namespace
              AND (series_id, event_time, event_id) > (@afterSeries, @afterTime, @afterId)
              AND +event_time >= @cutoff ${SCAN_ORDER}`,
  retain: `DELETE FROM ts_events WHERE (namespace, series_id, event_time, event_id) IN (
             SELECT namespace, series_id, event_time, event_id FROM ts_events
             WHERE namespace = @namespace AND event_time < @cutoff LIMIT @batch)`,
} as const;

interface EventRow {
  event_time: bigint;
  event_id: string;
  payload: Uint8Array;
  tags: string;
  seq: bigint;
}

interface ScanRow extends EventRow {
  series_id: string;
}

/** How much one tail batch carries at most. */
const TAIL_BATCH = { limitItems: 256, limitBytes: 1 << 20 } as const;
/** How often a live tail looks for writes made by other processes on the same file. */
const POLL_MS = 250;
const RETAIN_BATCH = 1000;

/**
 * TimeSeries on SQLite. Each series numbers its events in commit order (`seq`), which makes the
 * tail's hand-over exact: catch-up reads events numbered up to the series' last number when the
 * tail started, live reads every number after it. Live tails wake on this instance's own writes
 * and poll for other processes' writes.
 */
export class SqliteTimeSeries implements TimeSeriesBackend {
  readonly capabilities: TimeSeriesCapabilities = { liveTail: true, nativeRetention: false };
  private readonly sql: { [K in keyof typeof SQL]: BigIntStatement };
  private readonly writeTx: (namespace: string, seriesId: string, events: TsEvent[]) => number;
  /** Live tails waiting for a write, by namespace and series. */
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(db: SqliteDatabase) {
    this.sql = Object.fromEntries(
      Object.entries(SQL).map(([name, text]) => [
        name,
        (db.prepare(text) as BigIntStatement).safeIntegers(true),
      ]),
    ) as typeof this.sql;
    this.writeTx = db.transaction((namespace: string, seriesId: string, events: TsEvent[]) => {
      const { last_seq } = this.sql.lastSeq.get({ namespace, seriesId }) as { last_seq: bigint };
      let seq = last_seq;
      for (const event of events) {
        const { eventTimeUs, eventId, payload } = event;
        const tags = JSON.stringify(event.tags);
        const params = { namespace, seriesId, eventTimeUs, eventId, payload, tags, seq: seq + 1n };
        if (this.sql.insert.run(params).changes > 0) seq++;
      }
      if (seq !== last_seq) this.sql.setLastSeq.run({ namespace, seriesId, seq });
      return Number(seq - last_seq);
    });
  }

  async write(
    namespace: string,
    seriesId: string,
    events: TsEvent[],
    options: TsWriteOptions,
  ): Promise<{ written: number; duplicates: number }> {
    throwIfAborted(options.signal);
    if (events.length === 0) return { written: 0, duplicates: 0 };
    let written: number;
    try {
      written = this.writeTx(namespace, seriesId, events);
    } catch (error) {
      throw sqliteError(error, "write");
    }
    if (written > 0) for (const wake of this.waiters.get(seriesKey(namespace, seriesId)) ?? []) wake();
    return { written, duplicates: events.length - written };
  }

  async read(
    namespace: string,
    seriesId: string,
    options: TsReadOptions,
  ): Promise<{ events: TsEvent[]; more: boolean }> {
    throwIfAborted(options.signal);
    const { startUs, endUs, after, descending } = options;
    const statement = descending
      ? after
        ? this.sql.downAfter
        : this.sql.down
      : after
        ? this.sql.upAfter
        : this.sql.up;
    const params = { namespace, seriesId, startUs, endUs, ...afterParams(after) };
    try {
      const { page, more } = takePage(
        matching(statement.iterate(params) as Iterable<EventRow>, options.tagFilter),
        eventBytes,
        { limitItems: options.limitEvents, limitBytes: options.limitBytes },
      );
      return { events: page, more };
    } catch (error) {
      throw sqliteError(error, "read");
    }
  }

  async *tail(namespace: string, seriesId: string, options: TsTailOptions): AsyncGenerator<TsEvent[]> {
    const { signal, tagFilter, startUs } = options;
    if (signal?.aborted) return;
    const params = { namespace, seriesId };
    // Everything numbered after this is live; catch-up reads only what is numbered up to it.
    const handOver =
      this.guard("tail", () => this.sql.readLastSeq.get(params) as { last_seq: bigint } | undefined)
        ?.last_seq ?? 0n;
    if (startUs !== undefined) {
      let after: TsEvent | undefined;
      for (;;) {
        const { page, more } = this.guard("tail", () => {
          const rows = after
            ? this.sql.catchUpAfter.iterate({ ...params, handOver, ...afterParams(after) })
            : this.sql.catchUp.iterate({ ...params, handOver, startUs });
          return takePage(matching(rows as Iterable<EventRow>, tagFilter), eventBytes, TAIL_BATCH);
        });
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
      const { events, last, caughtUp } = this.guard("tail", () =>
        this.arrivals(namespace, seriesId, cursor, tagFilter),
      );
      cursor = last;
      if (events.length > 0) {
        yield events;
        if (signal?.aborted) return;
      } else if (caughtUp && !(await this.nextWrite(seriesKey(namespace, seriesId), signal))) {
        return;
      }
    }
  }

  async retain(namespace: string, options: TsCallOptions): Promise<{ removed?: number }> {
    const cutoff = BigInt(Date.now() - options.settings.retentionMs) * 1000n;
    let removed = 0;
    for (;;) {
      throwIfAborted(options.signal);
      const { changes } = this.guard("retain", () =>
        this.sql.retain.run({ namespace, cutoff, batch: RETAIN_BATCH }),
      );
      removed += changes;
      if (changes < RETAIN_BATCH) return { removed };
      // Between batches, let other calls run.
      await delay(0);
    }
  }

  /**
   * Pages in primary-key order: series id, time, event id (TEXT compares as UTF-8 bytes). The
   * cursor is the last event returned.
   */
  async scan(namespace: string, options: TsScanOptions): Promise<TsScanResult> {
    throwIfAborted(options.signal);
    const after = decodeSeriesScanCursor(CURSOR_KIND, namespace, options.cursor);
    const cutoff = BigInt(Date.now() - options.settings.retentionMs) * 1000n;
    const { page, more } = this.guard("scan", () => {
      const rows = after
        ? this.sql.scanAfter.iterate({
            namespace,
            cutoff,
            afterSeries: after.seriesId,
            afterTime: after.eventTimeUs,
            afterId: after.eventId,
          })
        : this.sql.scan.iterate({ namespace, cutoff });
      const events = (function* () {
        for (const row of rows as Iterable<ScanRow>) yield { seriesId: row.series_id, event: toEvent(row) };
      })();
      return takePage(events, (row) => eventBytes(row.event), {
        limitItems: options.limitEvents,
        limitBytes: options.limitBytes,
      });
    });
    const last = page.at(-1);
    return {
      events: page,
      ...(more && last ? { cursor: encodeSeriesScanCursor(CURSOR_KIND, namespace, last) } : {}),
    };
  }

  /**
   * The next arrivals after `cursor` that match, within one tail batch. `last` is the new cursor
   * (past non-matching rows too); `caughtUp` says no stored arrival is left beyond it.
   */
  private arrivals(
    namespace: string,
    seriesId: string,
    cursor: bigint,
    tagFilter: Record<string, string>,
  ): { events: TsEvent[]; last: bigint; caughtUp: boolean } {
    const events: TsEvent[] = [];
    let last = cursor;
    let bytes = 0;
    let rowsRead = 0;
    const rows = this.sql.arrivals.iterate({ namespace, seriesId, cursor, limit: TAIL_BATCH.limitItems });
    for (const row of rows as Iterable<EventRow>) {
      const event = toEvent(row);
      if (matchesTags(event, tagFilter)) {
        const size = eventBytes(event);
        if (events.length > 0 && bytes + size > TAIL_BATCH.limitBytes)
          return { events, last, caughtUp: false };
        events.push(event);
        bytes += size;
      }
      last = row.seq;
      rowsRead++;
    }
    return { events, last, caughtUp: rowsRead < TAIL_BATCH.limitItems };
  }

  /** Resolves true on this instance's next write to the series or after a poll interval; false once `signal` fires. */
  private nextWrite(key: string, signal: AbortSignal | undefined): Promise<boolean> {
    return new Promise((resolve) => {
      const set = this.waiters.get(key) ?? new Set<() => void>();
      this.waiters.set(key, set);
      const done = (woken: boolean) => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
        signal?.removeEventListener("abort", aborted);
        resolve(woken);
      };
      const wake = () => done(true);
      const aborted = () => done(false);
      const timer = setTimeout(wake, POLL_MS);
      set.add(wake);
      signal?.addEventListener("abort", aborted, { once: true });
    });
  }

  private guard<T>(operation: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw sqliteError(error, operation);
    }
  }
}

const seriesKey = (namespace: string, seriesId: string): string => `${namespace}\u0000${seriesId}`;

function afterParams(after: { eventTimeUs: bigint; eventId: string } | undefined) {
  return after ? { afterTime: after.eventTimeUs, afterId: after.eventId } : {};
}

function* matching(rows: Iterable<EventRow>, tagFilter: Record<string, string>): Generator<TsEvent> {
  for (const row of rows) {
    const event = toEvent(row);
    if (matchesTags(event, tagFilter)) yield event;
  }
}

function toEvent(row: EventRow): TsEvent {
  return {
    eventTimeUs: row.event_time,
    eventId: row.event_id,
    payload: row.payload,
    tags: JSON.parse(row.tags) as Record<string, string>,
  };
}

/** The kind of this backend's scan cursors (`@prism/core` `encodeSeriesScanCursor`). */
const CURSOR_KIND = "sqlite-scan-1";

/** SQLite errors a caller can act on; the rest are Internal. Driver text stays in `cause`. */
function sqliteError(error: unknown, operation: string): unknown {
  if (error instanceof PrismError) return error;
  const code = (error as { code?: string }).code ?? "";
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new PrismError("Unavailable", "sqlite database is busy", { cause: error });
  }
  if (code === "SQLITE_FULL")
    return new PrismError("ResourceExhausted", "sqlite database is full", { cause: error });
  return new PrismError("Internal", `sqlite timeseries ${operation} failed`, { cause: error });
}
