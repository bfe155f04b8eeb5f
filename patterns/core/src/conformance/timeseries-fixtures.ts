import { createHash } from "node:crypto";
import type { TimeSeriesBackend, TsEvent, TsNamespaceSettings, TsReadOptions } from "../timeseries.js";
import { b } from "./fixtures.js";

const DAY_MS = 24 * 60 * 60 * 1000;
export const YEAR_MS = 365 * DAY_MS;

/** Settings for most tests: nothing expires and every test's event times are accepted. */
export const SETTINGS: TsNamespaceSettings = {
  retentionMs: 10 * YEAR_MS,
  acceptPastMs: 10 * YEAR_MS,
  acceptFutureMs: DAY_MS,
};

/** How long a test waits for something a correct backend delivers; a hang detector, not a bound. */
export const WAIT_MS = 20_000;

/** The wall clock in epoch microseconds. */
export const nowUs = (): bigint => BigInt(Date.now()) * 1000n;

/** An event whose payload defaults to its id's bytes. */
export function event(
  eventTimeUs: bigint,
  eventId: string,
  payload: Uint8Array = b(eventId),
  tags: Record<string, string> = {},
): TsEvent {
  return { eventTimeUs, eventId, payload, tags };
}

/** An event as a readable, comparable value (large payloads by length and digest). */
export function view(e: TsEvent): { t: string; id: string; payload: string; tags: Record<string, string> } {
  const bytes = Buffer.from(e.payload.buffer, e.payload.byteOffset, e.payload.length);
  const payload =
    bytes.length <= 256
      ? bytes.toString("hex")
      : `${bytes.length}:${createHash("sha256").update(bytes).digest("hex")}`;
  return { t: e.eventTimeUs.toString(), id: e.eventId, payload, tags: { ...e.tags } };
}

export const views = (events: TsEvent[]) => events.map(view);

/** `time/id` of each event: short assertion diffs for order tests. */
export const ids = (events: { eventTimeUs: bigint; eventId: string }[]): string[] =>
  events.map((e) => `${e.eventTimeUs}/${e.eventId}`);

/** Read options over `[startUs, endUs)`, ascending, unfiltered, with generous page bounds. */
export function readOptions(
  startUs: bigint,
  endUs: bigint,
  more: Partial<TsReadOptions> = {},
): TsReadOptions {
  return {
    settings: SETTINGS,
    startUs,
    endUs,
    descending: false,
    tagFilter: {},
    limitEvents: 10_000,
    limitBytes: 64 << 20,
    ...more,
  };
}

/**
 * Reads every page of a range, continuing after each page's last event. Checks the paging rules on
 * the way: a page never exceeds `limitEvents`, only the last page may be empty, and the last page
 * says `more: false`.
 */
export async function readPages(
  ts: TimeSeriesBackend,
  namespace: string,
  seriesId: string,
  options: TsReadOptions,
): Promise<TsEvent[][]> {
  const pages: TsEvent[][] = [];
  let after: TsReadOptions["after"];
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await ts.read(namespace, seriesId, { ...options, ...(after ? { after } : {}) });
    if (page.events.length > options.limitEvents) throw new Error("a page exceeded limitEvents");
    pages.push(page.events);
    if (!page.more) return pages;
    const last = page.events.at(-1);
    if (!last) throw new Error("a page with more=true returned no events");
    after = { eventTimeUs: last.eventTimeUs, eventId: last.eventId };
  }
  throw new Error("paging did not end");
}

/** What {@link within} rejects with when time ran out. */
export class WaitTimeout extends Error {
  override readonly name = "WaitTimeout";
}

/** Rejects with a readable message when `promise` does not settle within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeout(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Pulls a tail one batch at a time and keeps what arrived. A pull that outlives a wait stays
 * pending and is reused by the next wait, so no batch is lost between waits.
 */
export class TailReader {
  readonly events: TsEvent[] = [];
  readonly batches: TsEvent[][] = [];
  ended = false;
  private readonly iterator: AsyncIterator<TsEvent[]>;
  private pending: Promise<IteratorResult<TsEvent[]>> | undefined;

  constructor(tail: AsyncIterable<TsEvent[]>) {
    this.iterator = tail[Symbol.asyncIterator]();
  }

  /** Starts a pull without waiting for it (for a tail that must be running before writes). */
  start(): void {
    this.pending ??= this.iterator.next();
  }

  /** Pulls one batch; undefined when the tail ended. */
  async next(what = "a tail batch", ms = WAIT_MS): Promise<TsEvent[] | undefined> {
    if (this.ended) return undefined;
    this.start();
    const result = await within(this.pending!, ms, what);
    this.pending = undefined;
    if (result.done) {
      this.ended = true;
      return undefined;
    }
    this.batches.push(result.value);
    this.events.push(...result.value);
    return result.value;
  }

  /** Pulls until `done(events so far)` holds; fails on timeout or when the tail ends first. */
  async until(done: (events: TsEvent[]) => boolean, what: string, ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done(this.events)) {
      const batch = await this.next(what, Math.max(1, deadline - Date.now()));
      if (batch === undefined) throw new Error(`the tail ended before ${what}`);
    }
  }

  /** Waits for the tail to end (after its signal fired); fails if it yields or throws instead. */
  async expectEnd(what: string, ms = WAIT_MS): Promise<void> {
    const batch = await this.next(what, ms);
    if (batch !== undefined) throw new Error(`the tail yielded ${batch.length} events instead of ending`);
  }
}
