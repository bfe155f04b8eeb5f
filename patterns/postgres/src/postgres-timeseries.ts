import {
  decodeSeriesScanCursor,
  encodeSeriesScanCursor,
  eventBytes,
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
  throwIfAborted,
} from "@prism/core";
import type { PostgresPool } from "./postgres-pool.js";
import { bound, type Statement } from "./sql.js";
import type { ArrivalListener, ArrivalSubscription } from "./ts-listener.js";
import { NO_PARTITION, sqlStateOf, type TsPartitions } from "./ts-partitions.js";
import type { TsStatements } from "./ts-sql.js";

/** One row of a page or arrival query; payload and tags are null on rows not returned as events. */
interface EventRow {
  event_time_us: string;
  event_id: string;
  payload: Uint8Array | null;
  tags: Record<string, string> | null;
}

interface PageRow extends EventRow {
  kept: boolean;
}

interface ScanRow extends PageRow {
  series_id: string;
}

interface ArrivalRow extends EventRow {
  seq: string;
  matched: boolean;
}

/** A tail's batches: at most this many events and (beyond the first event) bytes per pull. */
const TAIL_BATCH_EVENTS = 500;
const TAIL_BATCH_BYTES = 1 << 20;
/** How often a waiting tail looks for arrivals without a notification (the fallback). */
const TAIL_POLL_MS = 1000;

/**
 * TimeSeries in one PostgreSQL table partitioned by namespace and day (ADR-0011). A write is one
 * statement whatever the batch size; a read is one statement per page, cut to its bounds in the
 * database; a tail catches up by pages of what had arrived when it started, then follows the
 * series' arrival numbers, woken by LISTEN/NOTIFY.
 */
export class PostgresTimeSeries implements TimeSeriesBackend {
  readonly capabilities: TimeSeriesCapabilities = { liveTail: true, nativeRetention: false };
  private readonly scanSql: ReturnType<typeof buildScanStatements>;

  constructor(
    private readonly pool: PostgresPool,
    private readonly sql: TsStatements,
    private readonly partitions: TsPartitions,
    private readonly listener: ArrivalListener,
    private readonly channel: string,
  ) {
    this.scanSql = buildScanStatements(sql.eventsTable);
  }

  async write(
    namespace: string,
    seriesId: string,
    events: TsEvent[],
    options: TsWriteOptions,
  ): Promise<{ written: number; duplicates: number }> {
    throwIfAborted(options.signal);
    if (events.length === 0) return { written: 0, duplicates: 0 };
    const { signal } = options;
    const nsId = await this.partitions.namespaceId(namespace, signal);
    const times = events.map((event) => event.eventTimeUs);
    const values = [nsId, seriesId, ...flatBatch(events, times), this.channel, `${nsId}:${seriesId}`];
    const insert = async () => {
      await this.partitions.ensure(nsId, times, signal);
      const { rows } = await this.pool.run(signal, (client) =>
        client.query<{ written: number }>(bound(this.sql.write, values)),
      );
      return rows[0]?.written ?? 0;
    };
    let written: number;
    try {
      written = await insert();
    } catch (error) {
      // Another gateway's retention dropped a partition this process still knew of.
      if (sqlStateOf(error) !== NO_PARTITION) throw error;
      this.partitions.forget(nsId);
      written = await insert();
    }
    return { written, duplicates: events.length - written };
  }

  async read(
    namespace: string,
    seriesId: string,
    options: TsReadOptions,
  ): Promise<{ events: TsEvent[]; more: boolean }> {
    throwIfAborted(options.signal);
    const nsId = await this.partitions.namespaceId(namespace, options.signal);
    const values: unknown[] = [
      nsId,
      seriesId,
      options.startUs,
      options.endUs,
      JSON.stringify(options.tagFilter),
      options.limitEvents,
      options.limitBytes,
    ];
    let statement: Statement;
    if (options.after) {
      statement = options.descending ? this.sql.readDescAfter : this.sql.readAscAfter;
      values.push(options.after.eventTimeUs, options.after.eventId);
    } else {
      statement = options.descending ? this.sql.readDesc : this.sql.readAsc;
    }
    return this.page(statement, values, options.signal);
  }

  async *tail(namespace: string, seriesId: string, options: TsTailOptions): AsyncGenerator<TsEvent[]> {
    const { signal } = options;
    // A tail ends, rather than fails, when its signal fires: also when it fired before the start.
    if (signal?.aborted) return;
    const filter = JSON.stringify(options.tagFilter);
    let arrivals: ArrivalSubscription | undefined;
    try {
      const nsId = await this.partitions.namespaceId(namespace, signal);
      // Subscribed before the snapshot below: an arrival committed after it is announced to us.
      arrivals = this.listener.subscribe(`${nsId}:${seriesId}`);
      // Everything up to `last` is committed (a series commits in arrival order, see the write)
      // and is the catch-up's; everything after it is live. Each event is in exactly one part.
      let last = (await this.query<{ seq: string }>(this.sql.lastArrival, [nsId, seriesId], signal))[0]?.seq;
      if (last === undefined) return;
      if (options.startUs !== undefined) {
        const catchUp = [
          nsId,
          seriesId,
          options.startUs,
          MAX_TIME_US,
          filter,
          TAIL_BATCH_EVENTS,
          TAIL_BATCH_BYTES,
        ];
        let page = await this.page(this.sql.catchUp, [...catchUp, last], signal);
        for (;;) {
          if (page.events.length > 0) yield page.events;
          const end = page.events.at(-1);
          if (!page.more || end === undefined) break;
          page = await this.page(
            this.sql.catchUpAfter,
            [...catchUp, end.eventTimeUs, end.eventId, last],
            signal,
          );
        }
      }
      while (!signal?.aborted) {
        const rows: ArrivalRow[] = await this.query<ArrivalRow>(
          this.sql.arrivals,
          [nsId, seriesId, last, filter, TAIL_BATCH_EVENTS, TAIL_BATCH_BYTES],
          signal,
        );
        const batch = rows.filter((row) => row.matched).map(toEvent);
        last = rows.at(-1)?.seq ?? last;
        if (batch.length > 0) yield batch;
        // A full batch means more may be waiting: look again at once.
        else if (rows.length === 0) await arrivals.wait(signal, TAIL_POLL_MS);
      }
    } catch (error) {
      // The tail ends quietly when its consumer's signal fires, and fails for anything else.
      if (signal?.aborted) return;
      throw error;
    } finally {
      arrivals?.close();
    }
  }

  async retain(namespace: string, options: TsCallOptions): Promise<{ removed?: number }> {
    throwIfAborted(options.signal);
    const nsId = await this.partitions.namespaceId(namespace, options.signal);
    const cutoffUs = BigInt(Date.now() - options.settings.retentionMs) * 1000n;
    return this.partitions.retain(nsId, cutoffUs, options.signal);
  }

  /**
   * Pages by series id, time and event id (`COLLATE "C"`: UTF-8 bytes), the primary key's order
   * inside every partition, so a page is a merge of index scans over the namespace's partitions
   * from the retention cut-off on (older ones are pruned), continued by keyset from the cursor.
   */
  async scan(namespace: string, options: TsScanOptions): Promise<TsScanResult> {
    throwIfAborted(options.signal);
    const after = decodeSeriesScanCursor(CURSOR_KIND, namespace, options.cursor);
    const nsId = await this.partitions.namespaceId(namespace, options.signal);
    const cutoffUs = BigInt(Date.now() - options.settings.retentionMs) * 1000n;
    const values: unknown[] = [nsId, cutoffUs, options.limitEvents, options.limitBytes];
    if (after) values.push(after.seriesId, after.eventTimeUs, after.eventId);
    const statement = after ? this.scanSql.scanAfter : this.scanSql.scan;
    const rows = await this.query<ScanRow>(statement, values, options.signal);
    const events = rows
      .filter((row) => row.kept)
      .map((row) => ({ seriesId: row.series_id, event: toEvent(row) }));
    const last = events.at(-1);
    const more = rows.length > events.length;
    return {
      events,
      ...(more && last ? { cursor: encodeSeriesScanCursor(CURSOR_KIND, namespace, last) } : {}),
    };
  }

  private async page(
    statement: Statement,
    values: unknown[],
    signal: AbortSignal | undefined,
  ): Promise<{ events: TsEvent[]; more: boolean }> {
    const rows = await this.query<PageRow>(statement, values, signal);
    const events: TsEvent[] = [];
    let more = false;
    for (const row of rows) {
      if (row.kept) events.push(toEvent(row));
      else more = true;
    }
    return { events, more };
  }

  private async query<R>(
    statement: Statement,
    values: unknown[],
    signal: AbortSignal | undefined,
  ): Promise<R[]> {
    const result = await this.pool.run(signal, (client) => client.query<R>(bound(statement, values)));
    return result.rows;
  }
}

/** Past every event time (bigint's maximum): the catch-up's open end. */
const MAX_TIME_US = (1n << 63n) - 1n;

const EMPTY = new Uint8Array();

function toEvent(row: EventRow): TsEvent {
  return {
    eventTimeUs: BigInt(row.event_time_us),
    eventId: row.event_id,
    payload: row.payload ?? EMPTY,
    tags: row.tags ?? {},
  };
}

/** Separates event ids in the write statement's id parameter; ids never hold control characters. */
const ID_SEPARATOR = "\u001f";

/**
 * A batch as the write statement's flat parameters ($3–$9): times, ids, sizes, payload offsets
 * and lengths as text lists, every payload in one buffer, the tags as one JSON array.
 */
function flatBatch(events: readonly TsEvent[], times: readonly bigint[]): unknown[] {
  const ids = new Array<string>(events.length);
  const sizes = new Array<number>(events.length);
  const offsets = new Array<number>(events.length);
  const lengths = new Array<number>(events.length);
  const payloads = new Array<Uint8Array>(events.length);
  const tags = new Array<Record<string, string>>(events.length);
  let at = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event.eventId.includes(ID_SEPARATOR)) {
      throw new PrismError("InvalidArgument", "event ids must not contain control characters", {
        reason: "INVALID_EVENT_ID",
        field: `events[${i}].event_id`,
      });
    }
    ids[i] = event.eventId;
    sizes[i] = eventBytes(event);
    offsets[i] = at;
    lengths[i] = event.payload.length;
    payloads[i] = event.payload;
    tags[i] = event.tags;
    at += event.payload.length;
  }
  return [
    times.join(","),
    ids.join(ID_SEPARATOR),
    sizes.join(","),
    offsets.join(","),
    lengths.join(","),
    Buffer.concat(payloads, at),
    JSON.stringify(tags),
  ];
}

const SCAN_ORDER = "series_id, event_time_us, event_id";

/**
 * The namespace scan: $1 ns, $2 retention cut-off (inclusive), $3 limitEvents, $4 limitBytes
 * [, $5 $6 $7 the series, time and id of the previous page's last event]. One byte-bounded page
 * as ts-sql.ts's `page`: at most `$3 + 1` rows, kept rows within `$3` events and `$4` bytes (the
 * first always), then the first row not kept, without payload, to say that more follow. The
 * outer query orders by row number: by name, `event_time_us` there is the text column.
 */
function buildScanStatements(table: string) {
  const scan = (name: string, after: string): Statement => {
    const text = `SELECT series_id, event_time_us::text AS event_time_us, event_id,
        CASE WHEN kept THEN payload END AS payload, CASE WHEN kept THEN tags END AS tags, kept
      FROM (
        SELECT *, (n <= $3::int AND (n = 1 OR running <= $4::bigint)) AS kept
        FROM (
          SELECT series_id, event_time_us, event_id, payload, tags, size,
                 row_number() OVER w AS n, sum(size) OVER w AS running
          FROM ${table} WHERE ns_id = $1 AND event_time_us >= $2::bigint ${after}
          WINDOW w AS (ORDER BY ${SCAN_ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
          ORDER BY ${SCAN_ORDER}
          LIMIT $3::int + 1
        ) AS candidates
        WHERE n <= 2 OR running - size <= $4::bigint
      ) AS bounded
      ORDER BY n`;
    return Object.freeze({ name, text: text.replace(/\s+/g, " ").trim() });
  };
  return Object.freeze({
    scan: scan("prism_ts_scan", ""),
    scanAfter: scan("prism_ts_scan_after", `AND (${SCAN_ORDER}) > ($5::text, $6::bigint, $7::text)`),
  });
}

/** The kind of this backend's scan cursors (`@prism/core` `encodeSeriesScanCursor`). */
const CURSOR_KIND = "postgres-scan-1";
