import type { DirectBatchOptions, StoredMsg } from "@nats-io/jetstream";
import {
  compareEvents,
  eventBytes,
  matchesTags,
  type TsEvent,
  type TsNamespaceSettings,
  takePage,
  throwIfAborted,
} from "@prism/core";
import type { Waiter } from "./batches.js";
import type { TsStream } from "./ts-streams.js";
import { decodeEventMessage, parseEventSubject, seriesFilter } from "./ts-subjects.js";

/**
 * Slack for clocks: the accept window is judged by the gateway's clock, arrival times by the
 * NATS server's, and several gateways may write. Reads scan this much further on both sides.
 */
export const CLOCK_SKEW_MS = 60_000;

/** Messages per direct-get response, and the response's byte bound (one message may exceed it). */
const SCAN_BATCH = 1024;
const SCAN_MAX_BYTES = 4 * 1024 * 1024;

/** One read (or tail catch-up page) of one series. */
export interface ReadPlan {
  settings: TsNamespaceSettings;
  startUs: bigint;
  /** Exclusive; undefined = no end (tail catch-up). */
  endUs: bigint | undefined;
  descending: boolean;
  tagFilter: Record<string, string>;
  limitEvents: number;
  limitBytes: number;
  after?: { eventTimeUs: bigint; eventId: string } | undefined;
  /** Read nothing stored after this stream sequence (the tail's hand-over point). */
  untilSeq?: number;
  /**
   * Start the scan at this sequence instead of the arrival window's start: a previous page's
   * `resumeSeq`, when `after` is that page's last event (the tail's catch-up).
   */
  fromSeq?: number;
}

/** One page, and where the scan for the page after it may start. */
export interface ReadResult {
  events: TsEvent[];
  more: boolean;
  /**
   * The lowest sequence holding an event that may belong to a later page (one this scan saw but
   * did not return, or the first message it did not look at); undefined when `more` is false.
   */
  resumeSeq?: number | undefined;
}

/** How a read waits on the server: the link's waiter and the caller's signal. */
export interface ReadCall {
  stream: TsStream;
  token: string;
  wait: Waiter;
  signal: AbortSignal | undefined;
}

/** The latest time a `Date` holds (event times reach 2^63 µs, beyond it). */
const MAX_DATE_MS = 8.64e15;

const toMs = (us: bigint): number => Number(us / 1000n);

/**
 * One page of a series in read order. JetStream orders messages by arrival, not event time, so
 * the page scans the series' subjects over the arrival window that can hold its events (an event
 * with time `t` arrived within `[t - acceptFutureMs, t + acceptPastMs]`, plus clock slack),
 * keeps the best `limitEvents + 1` candidates, and sorts them. An ascending read stops early once
 * its candidates are complete: later arrivals can only have later times.
 */
export async function readPage(call: ReadCall, plan: ReadPlan): Promise<ReadResult> {
  const { settings, descending, after } = plan;
  const low = !descending && after && after.eventTimeUs > plan.startUs ? after.eventTimeUs : plan.startUs;
  let high = plan.endUs;
  if (descending && after && (high === undefined || after.eventTimeUs < high)) high = after.eventTimeUs + 1n;
  const fromMs = toMs(low) - settings.acceptFutureMs - CLOCK_SKEW_MS;
  const lateMs = settings.acceptPastMs + CLOCK_SKEW_MS;
  const untilMs = high === undefined ? Number.POSITIVE_INFINITY : toMs(high) + 1 + lateMs;

  const page = new PageCollector(descending, plan);
  const start = plan.fromSeq === undefined ? { fromMs } : { fromSeq: plan.fromSeq };
  for await (const batch of arrivals(call, start, plan.untilSeq)) {
    for (const message of batch) {
      const arrivedMs = message.time.getTime();
      const boundary = page.boundary();
      if (arrivedMs > untilMs) return page.finish(message.seq);
      if (!descending && boundary && arrivedMs > toMs(boundary.eventTimeUs) + 1 + lateMs) {
        return page.finish(message.seq);
      }
      const key = parseEventSubject(call.stream, call.token, message.subject);
      if (
        !key ||
        key.eventTimeUs < plan.startUs ||
        (plan.endUs !== undefined && key.eventTimeUs >= plan.endUs)
      ) {
        continue;
      }
      if (after && page.compare(key, after) <= 0) continue;
      if (boundary && page.compare(key, boundary) >= 0) {
        page.passOver(message.seq);
        continue;
      }
      const body = decodeEventMessage(message.data);
      if (!body) continue;
      const event: TsEvent = { ...key, ...body };
      if (matchesTags(event, plan.tagFilter)) page.offer(event, message.seq);
    }
  }
  return page.finish(undefined);
}

/**
 * The series' messages from arrival time `fromMs` on, in stream order, one direct-get response
 * at a time (batched direct gets by start time and subject filter: NATS 2.11+), up to the
 * stream's last message or `untilSeq`.
 */
export async function* arrivals(
  call: ReadCall,
  start: { fromMs: number } | { fromSeq: number },
  untilSeq?: number,
): AsyncGenerator<StoredMsg[]> {
  const { stream, wait, signal } = call;
  const filter = seriesFilter(stream, call.token);
  let nextSeq = "fromSeq" in start ? start.fromSeq : undefined;
  const fromMs = "fromMs" in start ? start.fromMs : 0;
  for (;;) {
    throwIfAborted(signal);
    const limits = { next_by_subj: filter, batch: SCAN_BATCH, max_bytes: SCAN_MAX_BYTES };
    const request =
      nextSeq === undefined
        ? { ...limits, start_time: new Date(Math.min(Math.max(0, fromMs), MAX_DATE_MS)) }
        : { ...limits, seq: nextSeq };
    const batch = await wait(collect(stream, request), signal);
    const inRange = untilSeq === undefined ? batch : batch.filter((message) => message.seq <= untilSeq);
    if (inRange.length > 0) yield inRange;
    const last = batch.at(-1);
    if (!last || inRange.length < batch.length || last.pending === 0) return;
    if (untilSeq !== undefined && last.seq >= untilSeq) return;
    nextSeq = last.seq + 1;
  }
}

/** One direct-get response; empty when no message matches (the server answers 404). */
async function collect(stream: TsStream, request: DirectBatchOptions): Promise<StoredMsg[]> {
  const messages: StoredMsg[] = [];
  try {
    for await (const message of await stream.session.jsm.direct.getBatch(stream.streamName, request)) {
      messages.push(message);
    }
  } catch (error) {
    if (!isNoMessages(error)) throw error;
  }
  return messages;
}

/** A direct get found nothing at or after its start (a status error with code 404). */
function isNoMessages(error: unknown): boolean {
  const { name, code } = (typeof error === "object" && error !== null ? error : {}) as {
    name?: unknown;
    code?: unknown;
  };
  return name === "JetStreamStatusError" && code === 404;
}

/** A candidate and the stream sequence it came from. */
interface Candidate {
  event: TsEvent;
  seq: number;
}

/**
 * The best events of a page seen so far, in bounded memory: once more than a page's worth has
 * been offered, only the page plus the one event proving that more follow is kept (the
 * boundary), and later candidates at or beyond the boundary are dropped unseen. The lowest
 * sequence of anything dropped is remembered, for where the next page's scan may start.
 */
class PageCollector {
  #kept: Candidate[] = [];
  #bytes = 0;
  #boundary: TsEvent | undefined;
  #droppedSeq = Number.POSITIVE_INFINITY;
  readonly #sign: number;
  readonly #limits: { limitItems: number; limitBytes: number };

  constructor(descending: boolean, limits: { limitEvents: number; limitBytes: number }) {
    this.#sign = descending ? -1 : 1;
    this.#limits = { limitItems: limits.limitEvents, limitBytes: limits.limitBytes };
  }

  /** Compares in read order. */
  compare(a: { eventTimeUs: bigint; eventId: string }, b: { eventTimeUs: bigint; eventId: string }): number {
    return this.#sign * compareEvents(a, b);
  }

  /** The first event known to be beyond the page, once there is one. */
  boundary(): TsEvent | undefined {
    return this.#boundary;
  }

  offer(event: TsEvent, seq: number): void {
    this.#kept.push({ event, seq });
    this.#bytes += eventBytes(event);
    const { limitItems, limitBytes } = this.#limits;
    if (this.#kept.length > 2 * (limitItems + 1) || this.#bytes > 2 * limitBytes) this.trim();
  }

  /** A candidate beyond the boundary, left unread. */
  passOver(seq: number): void {
    this.#droppedSeq = Math.min(this.#droppedSeq, seq);
  }

  /** The page; `unreadSeq` is the first message the scan did not look at, if it stopped early. */
  finish(unreadSeq: number | undefined): ReadResult {
    this.trim();
    const { page, more } = takePage(this.#kept, (c) => eventBytes(c.event), this.#limits);
    let resumeSeq = Math.min(this.#droppedSeq, unreadSeq ?? Number.POSITIVE_INFINITY);
    for (const rest of this.#kept.slice(page.length)) resumeSeq = Math.min(resumeSeq, rest.seq);
    return {
      events: page.map((c) => c.event),
      more: more || this.#boundary !== undefined,
      resumeSeq: Number.isFinite(resumeSeq) ? resumeSeq : undefined,
    };
  }

  private trim(): void {
    this.#kept.sort((a, b) => this.compare(a.event, b.event));
    const { page, more } = takePage(this.#kept, (c) => eventBytes(c.event), this.#limits);
    if (!more) return;
    for (const dropped of this.#kept.slice(page.length + 1)) this.passOver(dropped.seq);
    this.#kept = this.#kept.slice(0, page.length + 1);
    this.#boundary = this.#kept.at(-1)!.event;
    this.#bytes = this.#kept.reduce((sum, c) => sum + eventBytes(c.event), 0);
  }
}
