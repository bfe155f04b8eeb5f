/**
 * How TimeSeries events become JetStream subjects and messages (ADR-0013).
 *
 * One stream per namespace, `TS_<prefix>_<namespace>`, on subjects `<prefix>.ts.<namespace>.>`;
 * one subject per event:
 *
 *     <prefix>.ts.<namespace>.<series token>.<time token>.<event id token>
 *
 * Series and event ids are UTF-8 strings of any non-control characters, so they travel as the
 * KeyValue side's order-preserving base32hex tokens (`key-encoding.ts`: `[0-9a-v]` after a `k`).
 * The time token is `t` and 16 hex digits of `eventTimeUs + 2^63` (any int64, fixed width).
 * The subject is the event's identity: the stream keeps at most one message per subject and
 * refuses another (`discard_new_per_subject`), which is what makes a replay a duplicate forever.
 *
 * The message payload is the tags and the event's payload: a format byte (1), the byte length
 * of the tags' JSON as a big-endian uint32 (0 for no tags), that JSON, then the payload.
 */

import type { TsEvent } from "@prism/core";
import { decodeId, encodeId } from "./key-encoding.js";

const TIME_OFFSET = 1n << 63n;
const TIME_PREFIX = "t";
const TIME_TOKEN = /^t[0-9a-f]{16}$/;
const FORMAT = 1;
const HEADER_BYTES = 5;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Where one namespace's events live. */
export interface TsLayout {
  /** `TS_<prefix>_<namespace>` */
  streamName: string;
  /** `<prefix>.ts.<namespace>`: every subject of the stream starts with this and a dot. */
  root: string;
}

/** The stream and subject root of a namespace (names are `[a-z0-9-]`, prefixes `[A-Za-z0-9-]`). */
export function tsLayout(bucketPrefix: string, namespace: string): TsLayout {
  return { streamName: `TS_${bucketPrefix}_${namespace}`, root: `${bucketPrefix}.ts.${namespace}` };
}

/** The token of a series id. */
export const seriesToken = (seriesId: string): string => encodeId(seriesId);

/** The subject filter of every event of one series. */
export const seriesFilter = (layout: TsLayout, token: string): string => `${layout.root}.${token}.>`;

/**
 * The subject of one event.
 *
 * @example eventSubject(tsLayout("prism", "demo"), seriesToken("s"), { eventTimeUs: 0n, eventId: "a" })
 * // "prism.ts.demo.kec.t8000000000000000.kc4"
 */
export function eventSubject(
  layout: TsLayout,
  token: string,
  event: { eventTimeUs: bigint; eventId: string },
): string {
  const time = (event.eventTimeUs + TIME_OFFSET).toString(16).padStart(16, "0");
  return `${layout.root}.${token}.${TIME_PREFIX}${time}.${encodeId(event.eventId)}`;
}

/**
 * The time and id of an event's subject; `undefined` for a subject we did not write (another
 * series, another client).
 */
export function parseEventSubject(
  layout: TsLayout,
  token: string,
  subject: string,
): { eventTimeUs: bigint; eventId: string } | undefined {
  const prefix = `${layout.root}.${token}.`;
  if (!subject.startsWith(prefix)) return undefined;
  const rest = subject.slice(prefix.length);
  const dot = rest.indexOf(".");
  if (dot < 0) return undefined;
  const timeToken = rest.slice(0, dot);
  if (!TIME_TOKEN.test(timeToken)) return undefined;
  const eventId = decodeId(rest.slice(dot + 1));
  if (eventId === undefined) return undefined;
  return { eventTimeUs: BigInt(`0x${timeToken.slice(1)}`) - TIME_OFFSET, eventId };
}

/** An event's message payload: its tags and payload (see the module comment). */
export function encodeEventMessage(event: TsEvent): Uint8Array {
  const hasTags = Object.keys(event.tags).length > 0;
  const tags = hasTags ? utf8.encode(JSON.stringify(event.tags)) : new Uint8Array();
  const message = new Uint8Array(HEADER_BYTES + tags.length + event.payload.length);
  const view = new DataView(message.buffer);
  view.setUint8(0, FORMAT);
  view.setUint32(1, tags.length);
  message.set(tags, HEADER_BYTES);
  message.set(event.payload, HEADER_BYTES + tags.length);
  return message;
}

/** The tags and payload of a stored message; `undefined` when it is not in our format. */
export function decodeEventMessage(
  data: Uint8Array,
): { tags: Record<string, string>; payload: Uint8Array } | undefined {
  if (data.length < HEADER_BYTES || data[0] !== FORMAT) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tagBytes = view.getUint32(1);
  if (HEADER_BYTES + tagBytes > data.length) return undefined;
  let tags: Record<string, string> = {};
  if (tagBytes > 0) {
    try {
      tags = JSON.parse(strictUtf8.decode(data.subarray(HEADER_BYTES, HEADER_BYTES + tagBytes)));
    } catch {
      return undefined;
    }
    if (typeof tags !== "object" || tags === null || Array.isArray(tags)) return undefined;
  }
  // A plain copy: the client hands out Buffers that may share its read buffer.
  const payload = new Uint8Array(data.length - HEADER_BYTES - tagBytes);
  payload.set(data.subarray(HEADER_BYTES + tagBytes));
  return { tags, payload };
}

/** The message payload bytes of an event, without building it (for the size check). */
export function eventMessageBytes(event: TsEvent): number {
  const tags = Object.keys(event.tags).length > 0 ? Buffer.byteLength(JSON.stringify(event.tags)) : 0;
  return HEADER_BYTES + tags + event.payload.length;
}
