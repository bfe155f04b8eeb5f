import { compareEvents, eventBytes, type TsEvent, type TsReadOptions } from "@prism/core";

/**
 * The best `capacity` events of a scan in read order, each identity once. A scan visits events
 * in append order, so the page is kept sorted as they come; memory stays bounded by the page.
 * It also tracks the lowest offset of an event it let go, for {@link PageCollector.resumeOffset}.
 */
export class PageCollector {
  private readonly kept: { event: TsEvent; offset: bigint }[] = [];
  private readonly order: (a: TsEvent, b: TsEvent) => number;
  private lowestDropped: bigint | undefined;

  constructor(
    descending: boolean,
    private readonly capacity: number,
  ) {
    this.order = descending ? (a, b) => compareEvents(b, a) : compareEvents;
  }

  /** Keeps `event` when it is among the best so far and not a stored duplicate of one kept. */
  add(event: TsEvent, offset: bigint): void {
    const { kept } = this;
    if (kept.length === this.capacity && this.order(event, kept[kept.length - 1]!.event) >= 0) {
      this.dropped(offset);
      return;
    }
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order(kept[mid]!.event, event) < 0) lo = mid + 1;
      else hi = mid;
    }
    // The first write of an identity wins: a later copy (a cross-process race) is dropped.
    if (lo < kept.length && this.order(kept[lo]!.event, event) === 0) return;
    kept.splice(lo, 0, { event, offset });
    if (kept.length > this.capacity) this.dropped(kept.pop()!.offset);
  }

  /** The collected events in read order. */
  sorted(): TsEvent[] {
    return this.kept.map((entry) => entry.event);
  }

  /**
   * Where the next page (continuing after the first `returned` events) may start scanning: no
   * matching event after them lies below this offset, among the offsets this scan read.
   */
  resumeOffset(returned: number, scannedTo: bigint): bigint {
    let lowest = scannedTo;
    if (this.lowestDropped !== undefined && this.lowestDropped < lowest) lowest = this.lowestDropped;
    for (const { offset } of this.kept.slice(returned)) if (offset < lowest) lowest = offset;
    return lowest;
  }

  private dropped(offset: bigint): void {
    if (this.lowestDropped === undefined || offset < this.lowestDropped) this.lowestDropped = offset;
  }
}

/**
 * Resume offsets of paged reads: after a page, the offset below which no further match of the
 * same query lies, keyed by query and the page's last event. The next page starts there instead
 * of at its append window's start, so reading a range in pages costs about one pass.
 */
export class ResumeOffsets {
  private readonly offsets = new Map<string, bigint>();

  constructor(private readonly capacity = 10_000) {}

  get(key: string): bigint | undefined {
    return this.offsets.get(key);
  }

  set(key: string, offset: bigint): void {
    this.offsets.delete(key);
    this.offsets.set(key, offset);
    for (const oldest of this.offsets.keys()) {
      if (this.offsets.size <= this.capacity) break;
      this.offsets.delete(oldest);
    }
  }
}

/** The key of a paged read's continuation after `cursor`: everything that decides what matches. */
export function resumeKey(
  series: string,
  options: TsReadOptions,
  cursor: { eventTimeUs: bigint; eventId: string },
): string {
  const tags = Object.entries(options.tagFilter).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const { acceptPastMs, acceptFutureMs } = options.settings;
  return JSON.stringify([
    series,
    options.descending,
    String(options.startUs),
    String(options.endUs),
    tags,
    acceptPastMs,
    acceptFutureMs,
    String(cursor.eventTimeUs),
    cursor.eventId,
  ]);
}

/** The event-time range one page scans: `[startUs, endUs)` narrowed by the `after` cursor. */
export function pageRange(options: TsReadOptions): { loUs: bigint; hiUs: bigint } {
  let loUs = options.startUs;
  let hiUs = options.endUs;
  const after = options.after?.eventTimeUs;
  if (after !== undefined) {
    // bigints: Math.min/max do not apply.
    if (options.descending && after + 1n < hiUs) hiUs = after + 1n;
    if (!options.descending && after > loUs) loUs = after;
  }
  return { loUs, hiUs };
}

/** True when `event` lies strictly after the cursor in read order (always true without one). */
export function isAfterCursor(event: TsEvent, options: TsReadOptions): boolean {
  if (!options.after) return true;
  const order = compareEvents(event, options.after);
  return options.descending ? order < 0 : order > 0;
}

/** Cuts a sorted candidate list to the page bounds; `more` when anything was left out. */
export function takeEventPage(
  candidates: TsEvent[],
  { limitEvents, limitBytes }: { limitEvents: number; limitBytes: number },
): { events: TsEvent[]; more: boolean } {
  const events: TsEvent[] = [];
  let bytes = 0;
  for (const event of candidates) {
    if (events.length === limitEvents) break;
    const size = eventBytes(event);
    if (events.length > 0 && bytes + size > limitBytes) break;
    events.push(event);
    bytes += size;
  }
  return { events, more: events.length < candidates.length };
}
