import { compareEvents, eventBytes, type TsEvent, type TsReadOptions } from "@prism/core";

/**
 * The best `capacity` events of a scan in read order, each identity once. A scan visits events
 * in append order, so the page is kept sorted as they come; memory stays bounded by the page.
 */
export class PageCollector {
  private readonly events: TsEvent[] = [];
  private readonly order: (a: TsEvent, b: TsEvent) => number;

  constructor(
    descending: boolean,
    private readonly capacity: number,
  ) {
    this.order = descending ? (a, b) => compareEvents(b, a) : compareEvents;
  }

  /** Keeps `event` when it is among the best so far and not a stored duplicate of one kept. */
  add(event: TsEvent): void {
    const { events } = this;
    if (events.length === this.capacity && this.order(event, events[events.length - 1]!) >= 0) return;
    let lo = 0;
    let hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order(events[mid]!, event) < 0) lo = mid + 1;
      else hi = mid;
    }
    // The first write of an identity wins: a later copy (a cross-process race) is dropped.
    if (lo < events.length && this.order(events[lo]!, event) === 0) return;
    events.splice(lo, 0, event);
    if (events.length > this.capacity) events.pop();
  }

  /** The collected events in read order. */
  sorted(): TsEvent[] {
    return this.events;
  }
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
