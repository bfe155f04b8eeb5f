import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { PrismError, type TsEvent, type TsNamespaceSettings } from "@prism/core";
import type { Event } from "@prism/proto/prism/timeseries/v1/timeseries";
import type { TimeSeriesSettings } from "../../config/gateway-config.js";
import { invalid } from "../keyvalue/validate.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
const CONTROL = /[\u0000-\u001f\u007f]/;
/** google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

/** Series ids: non-empty UTF-8 up to the configured bytes, without control characters. */
export function checkSeriesId(seriesId: string, settings: TimeSeriesSettings): void {
  if (seriesId.length === 0) throw invalid("series_id", "is required", "SERIES_ID_REQUIRED");
  if (Buffer.byteLength(seriesId) > settings.maxSeriesIdBytes || CONTROL.test(seriesId)) {
    throw invalid(
      "series_id",
      `must be at most ${settings.maxSeriesIdBytes} bytes without control characters`,
      "INVALID_SERIES_ID",
    );
  }
}

/**
 * A Timestamp as epoch microseconds. Sub-microsecond digits are dropped: events are stored, ordered
 * and deduplicated at microsecond precision on every backend.
 */
export function toMicros(timestamp: Timestamp | undefined, field: string): bigint {
  if (!timestamp) throw invalid(field, "is required", "EVENT_TIME_REQUIRED");
  const { seconds, nanos } = timestamp;
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS || nanos < 0 || nanos > 999_999_999) {
    throw invalid(field, "is not a valid timestamp", "INVALID_TIME_RANGE");
  }
  return seconds * 1_000_000n + BigInt(Math.floor(nanos / 1000));
}

/** Epoch microseconds as a Timestamp. */
export function fromMicros(micros: bigint): Timestamp {
  let seconds = micros / 1_000_000n;
  let rest = micros % 1_000_000n;
  if (rest < 0n) {
    seconds -= 1n;
    rest += 1_000_000n;
  }
  return { $typeName: "google.protobuf.Timestamp", seconds, nanos: Number(rest) * 1000 };
}

/** Tags of an event or a filter: bounded count and sizes, no control characters in keys. */
export function checkTags(tags: Record<string, string>, field: string, settings: TimeSeriesSettings): void {
  const keys = Object.keys(tags);
  if (keys.length > settings.maxTagsPerEvent) {
    throw invalid(field, `at most ${settings.maxTagsPerEvent} tags`, "INVALID_TAG");
  }
  for (const key of keys) {
    if (key.length === 0 || CONTROL.test(key)) {
      throw invalid(
        `${field}[${JSON.stringify(key)}]`,
        "tag keys must be non-empty without control characters",
        "INVALID_TAG",
      );
    }
    if (Buffer.byteLength(key) + Buffer.byteLength(tags[key]!) > settings.maxTagBytes) {
      throw invalid(
        `${field}[${JSON.stringify(key)}]`,
        `a tag's key and value together must be at most ${settings.maxTagBytes} bytes`,
        "INVALID_TAG",
      );
    }
  }
}

/**
 * A batch to write, checked whole before anything is written: every event has a time inside the
 * namespace's accept window, an id, and payload and tags within the limits. The first bad event
 * is named in the error (`events[3].event_time`).
 */
export function checkEvents(
  events: Event[],
  settings: TimeSeriesSettings,
  namespace: TsNamespaceSettings,
  maxPayloadBytes: number,
  nowMs: number,
): TsEvent[] {
  if (events.length === 0) throw invalid("events", "must hold at least one event", "EVENTS_REQUIRED");
  if (events.length > settings.maxEventsPerWrite) {
    throw invalid("events", `at most ${settings.maxEventsPerWrite} per request`, "TOO_MANY_EVENTS");
  }
  // An event already past the namespace's retention would be written only to be invisible.
  const oldest = BigInt(nowMs - Math.min(namespace.acceptPastMs, namespace.retentionMs)) * 1000n;
  const newest = BigInt(nowMs + namespace.acceptFutureMs) * 1000n;
  return events.map((event, i) => {
    const field = `events[${i}]`;
    const eventTimeUs = toMicros(event.eventTime, `${field}.event_time`);
    if (eventTimeUs < oldest || eventTimeUs > newest) {
      throw new PrismError(
        "InvalidArgument",
        `${field}.event_time: is outside the namespace's accept window (${namespace.acceptPastMs} ms in the past to ${namespace.acceptFutureMs} ms ahead of the gateway's clock)`,
        {
          reason: "EVENT_OUTSIDE_WINDOW",
          field: `${field}.event_time`,
          metadata: { event_index: String(i), event_id: event.eventId.slice(0, 256) },
        },
      );
    }
    if (event.eventId.length === 0) throw invalid(`${field}.event_id`, "is required", "EVENT_ID_REQUIRED");
    if (Buffer.byteLength(event.eventId) > settings.maxEventIdBytes || CONTROL.test(event.eventId)) {
      throw invalid(
        `${field}.event_id`,
        `must be at most ${settings.maxEventIdBytes} bytes without control characters`,
        "INVALID_EVENT_ID",
      );
    }
    if (event.payload.length > maxPayloadBytes) {
      throw new PrismError(
        "InvalidArgument",
        `${field}.payload: is ${event.payload.length} bytes; the namespace allows ${maxPayloadBytes}`,
        {
          reason: "VALUE_TOO_LARGE",
          field: `${field}.payload`,
          metadata: { limit: String(maxPayloadBytes) },
        },
      );
    }
    checkTags(event.tags, `${field}.tags`, settings);
    return { eventTimeUs, eventId: event.eventId, payload: event.payload, tags: event.tags };
  });
}

/** Page bounds of a Read: the request's, else the defaults, capped. */
export function readLimits(
  pageSizeBytes: number,
  pageSizeEvents: number,
  settings: TimeSeriesSettings,
): { limitBytes: number; limitEvents: number } {
  return {
    limitBytes: Math.min(pageSizeBytes || settings.defaultPageBytes, settings.maxPageBytes),
    limitEvents: Math.min(pageSizeEvents || settings.defaultPageEvents, settings.maxPageEvents),
  };
}
