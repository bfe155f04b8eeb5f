import type { CallOptions } from "./keyvalue.js";

/**
 * The TimeSeries pattern: namespace → series id → immutable events. `(seriesId, eventTimeUs,
 * eventId)` is an event's identity; writing it again changes nothing and counts as a duplicate.
 *
 * The gateway validates every input before it reaches a backend, so a backend may rely on:
 * non-empty series ids and event ids (≤ 256 bytes UTF-8, no control characters), event times
 * inside the namespace's accept window, `startUs < endUs`, positive page limits, and a retention
 * window already applied to `startUs` (reads never ask for expired events).
 *
 * Ordering: the read order of events is `(eventTimeUs, eventId)` — event ids compared as UTF-8
 * bytes (`compareEvents`) — ascending, or exactly reversed when descending.
 */
export interface TsEvent {
  /** Epoch microseconds. */
  eventTimeUs: bigint;
  eventId: string;
  payload: Uint8Array;
  tags: Record<string, string>;
}

/**
 * Per-namespace settings the gateway passes on every call. Backends whose reads are bounded by
 * arrival time (Kafka offsets, NATS sequences) use the accept window to turn an event-time range
 * into an arrival-time range: an event with time `t` was accepted at a wall time in
 * `[t - acceptFutureMs, t + acceptPastMs]`.
 */
export interface TsNamespaceSettings {
  /** Events older than this are gone from reads at once, and from storage eventually. */
  retentionMs: number;
  /** How far in the past (relative to the gateway's clock at write) an event time may be. */
  acceptPastMs: number;
  /** How far in the future an event time may be. */
  acceptFutureMs: number;
}

export interface TsCallOptions extends CallOptions {
  settings: TsNamespaceSettings;
}

export interface TsWriteOptions extends TsCallOptions {}

export interface TsReadOptions extends TsCallOptions {
  /** Inclusive, epoch microseconds. */
  startUs: bigint;
  /** Exclusive, epoch microseconds. */
  endUs: bigint;
  descending: boolean;
  /** An event matches when it carries every one of these tags with an equal value. */
  tagFilter: Record<string, string>;
  /** At most this many events (≥ 1). */
  limitEvents: number;
  /**
   * Stop before the event whose payload+tags+id bytes (`eventBytes`) would take the page past this
   * bound; at least one event is always returned.
   */
  limitBytes: number;
  /** Continue strictly after this event in the read order (the last event of the previous page). */
  after?: { eventTimeUs: bigint; eventId: string };
}

export interface TsTailOptions extends TsCallOptions {
  /** Catch up from here (inclusive). Undefined = only events written after the tail started. */
  startUs?: bigint;
  tagFilter: Record<string, string>;
}

export interface TsScanOptions extends TsCallOptions {
  /** Where the previous page ended (its `cursor`); undefined = from the start. */
  cursor?: string;
  /** At most this many events (≥ 1). */
  limitEvents: number;
  /** As {@link TsReadOptions.limitBytes}: at least one event is always returned. */
  limitBytes: number;
}

/** One page of a namespace scan. */
export interface TsScanResult {
  events: { seriesId: string; event: TsEvent }[];
  /**
   * Where the next page starts; undefined when the scan is complete. Opaque, at most 4 KiB, and
   * valid across restarts of the gateway (backfill jobs checkpoint it in the config store).
   */
  cursor?: string;
}

export interface TimeSeriesCapabilities {
  /** Tail is woken by the store (or in-process) when events arrive, rather than by polling. */
  liveTail: boolean;
  /** Retention is enforced by the store itself (topic/stream max age) once `retain` configured it. */
  nativeRetention: boolean;
  /**
   * Reads find an event only within the namespace's accept window of its arrival (Kafka offsets,
   * NATS sequences): a backfill cannot make older events readable here, so it skips them.
   */
  arrivalIndexed?: boolean;
}

/**
 * A TimeSeries store. Every method honours `signal` (reject with `abortError` once it fires).
 *
 * @example
 * const { written, duplicates } = await ts.write("demo-ts", "sensor-1", [event], { settings });
 */
export interface TimeSeriesBackend {
  readonly capabilities: TimeSeriesCapabilities;
  /**
   * Stores the events that are not stored yet and answers how many were new and how many were
   * already there (a repeat inside one batch counts as a duplicate). Resolves only after the store
   * acknowledged durably. A batch that fails part-way may be retried: the retry completes it
   * without double-counting stored events as written.
   */
  write(
    namespace: string,
    seriesId: string,
    events: TsEvent[],
    options: TsWriteOptions,
  ): Promise<{ written: number; duplicates: number }>;
  /**
   * One page of `[startUs, endUs)` in read order, filtered by tags. `more` is true when events
   * beyond this page may match (a final page may still be empty).
   */
  read(
    namespace: string,
    seriesId: string,
    options: TsReadOptions,
  ): Promise<{ events: TsEvent[]; more: boolean }>;
  /**
   * Stored events from `startUs` (in read order), then events as they are written (in the order
   * the store accepted them), each exactly once: no gap and no duplicate at the hand-over, even
   * while writes race it. Pull-based: nothing is fetched beyond what the consumer has asked for
   * plus one bounded batch, so a slow consumer gets backpressure. Ends (returns) when `signal`
   * fires or `return()` is called; throws `PrismError` when the store fails.
   */
  tail(namespace: string, seriesId: string, options: TsTailOptions): AsyncIterable<TsEvent[]>;
  /**
   * Applies the namespace's retention: deletes events older than `now - retentionMs` (in
   * batches or whole time partitions), or configures the store's own max age (idempotent) when
   * `nativeRetention`. The gateway calls it when a namespace is bound and then periodically.
   * Returns how many events it removed, when it knows.
   */
  retain(namespace: string, options: TsCallOptions): Promise<{ removed?: number }>;
  /**
   * One page of every stored, unexpired event of the namespace, across all series, in an order
   * the backend chooses and keeps stable across calls (by series then time for tables, by
   * arrival for logs). Following `cursor` until it is undefined yields every event stored before
   * the scan started at least once (a log may repeat an event it holds twice: copies are
   * idempotent); events written during the scan may or may not appear. Backfill and verification
   * of shadow traffic read a namespace with it. A page may hold fewer events than the limit, even
   * none, while `cursor` is set.
   */
  scan(namespace: string, options: TsScanOptions): Promise<TsScanResult>;
}

const utf8 = new TextEncoder();

/** The read order: event time, then event id as UTF-8 bytes. */
export function compareEvents(
  a: { eventTimeUs: bigint; eventId: string },
  b: { eventTimeUs: bigint; eventId: string },
): number {
  if (a.eventTimeUs !== b.eventTimeUs) return a.eventTimeUs < b.eventTimeUs ? -1 : 1;
  return compareUtf8(a.eventId, b.eventId);
}

/**
 * Two strings in UTF-8 byte order without encoding them: UTF-16 code units order the same way
 * up to the first difference unless it involves a surrogate or a unit above them (U+D800…U+FFFF).
 */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x < y ? -1 : 1;
    // From the start of the character, so a pair's low surrogate is not encoded on its own.
    const from = i > 0 && (a.charCodeAt(i - 1) & 0xfc00) === 0xd800 ? i - 1 : i;
    return Buffer.compare(utf8.encode(a.slice(from)), utf8.encode(b.slice(from)));
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** The bytes an event counts toward a page's `limitBytes`: id, payload, tag keys and values. */
export function eventBytes(event: TsEvent): number {
  let bytes = Buffer.byteLength(event.eventId) + event.payload.length;
  for (const [key, value] of Object.entries(event.tags))
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  return bytes;
}

/** True when `event` carries every tag of `filter` with an equal value. */
export function matchesTags(event: TsEvent, filter: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(filter)) if (event.tags[key] !== value) return false;
  return true;
}

/** The identity key of an event within its series, for sets and maps. */
export function eventKey(event: { eventTimeUs: bigint; eventId: string }): string {
  return `${event.eventTimeUs}\u0000${event.eventId}`;
}
