import { eventKey, matchesTags, type TsEvent, type TsReadOptions, type TsTailOptions } from "@prism/core";
import { hasType, toPrismError } from "./errors.js";
import { decodeEvent, isOfSeries } from "./event-encoding.js";
import type { KafkaOptions } from "./kafka-options.js";
import type { PartitionLog } from "./partition-log.js";
import { type SeriesLocation, scanSeries } from "./series-scan.js";

/** What a tail needs from the backend that started it. */
export interface TailContext {
  backendName: string;
  options: KafkaOptions;
  /** The series' topic (created when missing) and partition. */
  locate(): Promise<SeriesLocation>;
  openLog(): PartitionLog;
  closeLog(log: PartitionLog): Promise<void>;
  /** One read page on `log`, of the offsets below `endOffset`. */
  readPage(
    log: PartitionLog,
    options: TsReadOptions,
    endOffset: bigint,
  ): Promise<{ events: TsEvent[]; more: boolean }>;
}

/** Events per catch-up page: one bounded batch per pull. */
const CATCH_UP_PAGE = 1000;
/** How long one live fetch waits at the broker for a new record (the broker answers at once when one arrives). */
const LIVE_WAIT_MS = 1000;
/**
 * How long after an event's append a racing second write of it (another gateway process that
 * checked for duplicates before the first append) may still be appended: a write call's lifetime.
 */
const DUPLICATE_WINDOW_MS = 5 * 60_000;
/** The latest event time a read can ask for. */
const END_OF_TIME_US = 1n << 62n;

/**
 * A series' tail: stored events from `startUs` in read order (read pages), then the partition
 * from the offset where the catch-up ended, as the broker appended it. The hand-over is exact by
 * offset — the catch-up sees offsets below the high watermark taken at the start, the live part
 * starts at it — and identities seen recently are remembered so a stored duplicate (a cross-process
 * write race) is not delivered twice. Each pull does one bounded fetch; a fired signal or
 * `return()` ends it.
 */
export async function* tailSeries(context: TailContext, options: TsTailOptions): AsyncGenerator<TsEvent[]> {
  const { signal, startUs, tagFilter, settings } = options;
  if (signal?.aborted) return;
  const log = context.openLog();
  const aborted = abortPromise(signal);
  try {
    const started = await untilAborted(
      (async () => {
        const location = await context.locate();
        const handOver = await log.offset(location.topic, location.partition, "latest");
        return { location, handOver };
      })(),
      aborted,
    );
    if (started === ABORTED) return;
    const { location, handOver } = started;
    const recent = new RecentKeys(DUPLICATE_WINDOW_MS);

    if (startUs !== undefined) {
      // Only an event appended shortly before the hand-over can have a racing copy after it.
      const remembered = await untilAborted(
        (async () => {
          const fromOffset = await log.offset(location.topic, location.partition, {
            timestampMs: Date.now() - DUPLICATE_WINDOW_MS - context.options.clockSkewMs,
          });
          const bounds = { fromOffset, toOffset: handOver };
          await scanSeries(
            log,
            location,
            bounds,
            { fetchBytes: context.options.fetchBytes, signal },
            (event, at) => {
              if (event.eventTimeUs >= startUs) recent.add(event, at);
            },
          );
        })(),
        aborted,
      );
      if (remembered === ABORTED) return;
      let after: TsReadOptions["after"];
      for (;;) {
        const page = await untilAborted(
          context.readPage(
            log,
            {
              settings,
              signal,
              startUs,
              endUs: END_OF_TIME_US,
              descending: false,
              tagFilter,
              limitEvents: CATCH_UP_PAGE,
              limitBytes: context.options.fetchBytes,
              ...(after ? { after } : {}),
            },
            handOver,
          ),
          aborted,
        );
        if (page === ABORTED) return;
        if (page.events.length > 0) yield page.events;
        const last = page.events.at(-1);
        if (!page.more || !last) break;
        after = { eventTimeUs: last.eventTimeUs, eventId: last.eventId };
      }
    }

    let offset = handOver;
    for (;;) {
      const fetched = await untilAborted(
        log
          .fetch(location.topic, location.partition, offset, {
            maxBytes: context.options.fetchBytes,
            maxWaitMs: LIVE_WAIT_MS,
          })
          .catch(async (error: unknown) => {
            // Retention deleted the offsets we were about to read: continue at the oldest kept.
            if (!hasType(error, "OFFSET_OUT_OF_RANGE")) throw error;
            // (Past the end instead — the topic was recreated — continue at its end.)
            const earliest = await log.offset(location.topic, location.partition, "earliest");
            const nextOffset =
              earliest > offset ? earliest : await log.offset(location.topic, location.partition, "latest");
            return {
              records: [],
              nextOffset,
              highWatermark: earliest,
            };
          }),
        aborted,
      );
      if (fetched === ABORTED) return;
      offset = fetched.nextOffset;
      const events: TsEvent[] = [];
      for (const record of fetched.records) {
        if (!isOfSeries(record, location.key)) continue;
        const event = decodeEvent(record);
        if (startUs !== undefined && event.eventTimeUs < startUs) continue;
        if (!matchesTags(event, tagFilter) || recent.has(event)) continue;
        recent.add(event, Number(record.timestamp));
        events.push(event);
      }
      if (events.length > 0) yield events;
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw toPrismError(error, context.backendName, signal);
  } finally {
    await context.closeLog(log);
  }
}

/**
 * Identities delivered lately, forgotten once no duplicate of them can still arrive: a racing
 * second write of an event is appended within a write's lifetime of the first.
 */
class RecentKeys {
  private readonly keys = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  has(event: TsEvent): boolean {
    return this.keys.has(eventKey(event));
  }

  add(event: TsEvent, appendMs: number): void {
    this.keys.delete(eventKey(event));
    this.keys.set(eventKey(event), appendMs);
    // Insertion order is append order, so the oldest entries come first.
    for (const [key, at] of this.keys) {
      if (at >= appendMs - this.windowMs) break;
      this.keys.delete(key);
    }
  }
}

const ABORTED = Symbol("aborted");

function abortPromise(signal: AbortSignal | undefined): Promise<typeof ABORTED> {
  if (!signal) return new Promise(() => undefined);
  return new Promise((resolve) => {
    if (signal.aborted) resolve(ABORTED);
    else signal.addEventListener("abort", () => resolve(ABORTED), { once: true });
  });
}

/** `work`, or {@link ABORTED} once the tail's signal fires (the work is then abandoned). */
function untilAborted<T>(work: Promise<T>, aborted: Promise<typeof ABORTED>): Promise<T | typeof ABORTED> {
  work.catch(() => undefined);
  return Promise.race([work, aborted]);
}
