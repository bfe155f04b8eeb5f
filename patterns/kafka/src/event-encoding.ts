import { PrismError, type TsEvent } from "@prism/core";
import type { LogRecord } from "./partition-log.js";

/**
 * One event = one Kafka message: key = series id (UTF-8), value = payload, headers carry the
 * identity and tags. Headers keep the payload untouched for other Kafka consumers, and let a scan
 * skip other series by key without decoding anything.
 *
 * - `t`: event time, epoch microseconds, decimal
 * - `id`: event id, UTF-8
 * - `tags`: JSON object of string values, absent when there are none
 */
export interface EventMessage {
  key: Buffer;
  value: Buffer;
  headers: Record<string, string>;
}

/** The message for `event` of `seriesId`. */
export function encodeEvent(seriesId: string, event: TsEvent): EventMessage {
  const headers: Record<string, string> = { t: event.eventTimeUs.toString(), id: event.eventId };
  if (Object.keys(event.tags).length > 0) headers.tags = JSON.stringify(event.tags);
  return {
    key: Buffer.from(seriesId, "utf8"),
    value: Buffer.from(event.payload.buffer, event.payload.byteOffset, event.payload.length),
    headers,
  };
}

/** Bytes a message adds to a produce request, roughly (record overhead included). */
export function messageBytes(message: EventMessage): number {
  let bytes = 32 + message.key.length + message.value.length;
  for (const [name, value] of Object.entries(message.headers))
    bytes += 8 + name.length + Buffer.byteLength(value);
  return bytes;
}

/** True when `record` belongs to the series whose UTF-8 key is `key`. */
export function isOfSeries(record: LogRecord, key: Buffer): boolean {
  return record.key?.equals(key) === true;
}

/** The event a record of our format holds; `CORRUPT_VALUE` when it is not one. */
export function decodeEvent(record: LogRecord): TsEvent {
  const time = header(record, "t");
  const eventId = header(record, "id");
  const tagsJson = header(record, "tags");
  if (time === undefined || !/^-?\d{1,20}$/.test(time) || eventId === undefined) throw corrupt(record);
  let tags: Record<string, string> = {};
  if (tagsJson !== undefined) {
    try {
      tags = JSON.parse(tagsJson) as Record<string, string>;
    } catch (error) {
      throw corrupt(record, error);
    }
    if (typeof tags !== "object" || tags === null || Array.isArray(tags)) throw corrupt(record);
  }
  const value = record.value ?? Buffer.alloc(0);
  return {
    eventTimeUs: BigInt(time),
    eventId,
    payload: new Uint8Array(value.buffer, value.byteOffset, value.length),
    tags,
  };
}

function header(record: LogRecord, name: string): string | undefined {
  const value = record.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return undefined;
  return typeof first === "string" ? first : first.toString("utf8");
}

function corrupt(record: LogRecord, cause?: unknown): PrismError {
  // The offset locates the message for an operator; nothing of its content is quoted.
  return new PrismError("Internal", `a stored event at offset ${record.offset} cannot be decoded`, {
    reason: "CORRUPT_VALUE",
    cause,
  });
}
