import { fromBinary } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { IdempotencyTokenSchema } from "../gen/prism/common/v1/common_pb.js";
import type {
  Event,
  ReadResponse,
  TailResponse,
  WriteRequest,
} from "../gen/prism/timeseries/v1/timeseries_pb.js";
import {
  decodeNeighborsResponse,
  decodeTraverseResponse,
  encodeGetNodesResponse,
  encodeNeighborsResponse,
  encodeShortestPathResponse,
  encodeTraverseResponse,
} from "./fast-codec-graph.js";
import { lengthDelimited, Reader, string, varint, varint64, varint64Size } from "./wire.js";

/**
 * Hand-written codecs for the messages whose size grows with the data: TimeSeries batches and
 * pages carry thousands of events, and protobuf-es's reflective `fromBinary`/`toBinary` spent a
 * third of the gateway's CPU on them. These read and write the same wire format with the same
 * low-level reader and writer, field by field, and produce the same message objects; a test
 * checks them against protobuf-es on generated messages. Unknown fields are skipped.
 */
export interface FastCodec {
  encode?: (message: never) => Uint8Array;
  decode?: (bytes: Uint8Array) => unknown;
}

/** The codecs by message type name; `serializer`/`deserializer` use one when it exists. */
export const FAST_CODECS: ReadonlyMap<string, FastCodec> = new Map<string, FastCodec>([
  ["prism.timeseries.v1.WriteRequest", { decode: decodeWriteRequest }],
  ["prism.timeseries.v1.ReadResponse", { encode: encodeReadResponse }],
  ["prism.timeseries.v1.TailResponse", { encode: encodeTailResponse }],
  ["prism.graph.v1.NeighborsResponse", { encode: encodeNeighborsResponse, decode: decodeNeighborsResponse }],
  ["prism.graph.v1.TraverseResponse", { encode: encodeTraverseResponse, decode: decodeTraverseResponse }],
  ["prism.graph.v1.GetNodesResponse", { encode: encodeGetNodesResponse }],
  ["prism.graph.v1.ShortestPathResponse", { encode: encodeShortestPathResponse }],
]);

export function decodeWriteRequest(bytes: Uint8Array): WriteRequest {
  const reader = new Reader(bytes);
  const message: WriteRequest = {
    $typeName: "prism.timeseries.v1.WriteRequest",
    namespace: "",
    seriesId: "",
    events: [],
    async: false,
    idempotencyToken: undefined,
  };
  const end = bytes.length;
  while (reader.at < end) {
    const tag = reader.varint();
    if (tag === 0x0a) message.namespace = reader.string();
    else if (tag === 0x12) message.seriesId = reader.string();
    else if (tag === 0x1a) message.events.push(readEvent(reader, reader.length()));
    else if (tag === 0x20) message.async = reader.varint64() !== 0n;
    else if (tag === 0x2a) {
      const length = reader.length();
      message.idempotencyToken = fromBinary(
        IdempotencyTokenSchema,
        bytes.subarray(reader.at, reader.at + length),
      );
      reader.at += length;
    } else reader.skip(tag);
  }
  if (reader.at !== end) throw new Error("premature end of prism.timeseries.v1.WriteRequest");
  return message;
}

export function encodeReadResponse(message: ReadResponse): Uint8Array {
  return encodeEvents(message.events, message.nextPageToken);
}

export function encodeTailResponse(message: TailResponse): Uint8Array {
  return encodeEvents(message.events, "");
}

function readEvent(reader: Reader, length: number): Event {
  const end = reader.at + length;
  const event: Event = {
    $typeName: "prism.timeseries.v1.Event",
    eventTime: undefined,
    eventId: "",
    payload: new Uint8Array(0),
    tags: {},
  };
  while (reader.at < end) {
    const tag = reader.varint();
    if (tag === 0x0a) event.eventTime = readTimestamp(reader, reader.length());
    else if (tag === 0x12) event.eventId = reader.string();
    else if (tag === 0x1a) event.payload = reader.bytes();
    else if (tag === 0x22) readTag(reader, reader.length(), event.tags);
    else reader.skip(tag);
  }
  if (reader.at !== end) throw new Error("premature end of prism.timeseries.v1.Event");
  return event;
}

function readTimestamp(reader: Reader, length: number): Timestamp {
  const end = reader.at + length;
  const timestamp: Timestamp = { $typeName: "google.protobuf.Timestamp", seconds: 0n, nanos: 0 };
  while (reader.at < end) {
    const tag = reader.varint();
    if (tag === 0x08) timestamp.seconds = BigInt.asIntN(64, reader.varint64());
    else if (tag === 0x10) timestamp.nanos = reader.int32();
    else reader.skip(tag);
  }
  if (reader.at !== end) throw new Error("premature end of google.protobuf.Timestamp");
  return timestamp;
}

/** One map entry; a missing key or value is the empty string, and a repeated key overwrites. */
function readTag(reader: Reader, length: number, tags: Record<string, string>): void {
  const end = reader.at + length;
  let key = "";
  let value = "";
  while (reader.at < end) {
    const tag = reader.varint();
    if (tag === 0x0a) key = reader.string();
    else if (tag === 0x12) value = reader.string();
    else reader.skip(tag);
  }
  if (reader.at !== end) throw new Error("premature end of a map entry");
  tags[key] = value;
}

/**
 * `repeated Event events = 1` then, if set, `string next_page_token = 2`: sizes first, then one
 * buffer written in place (protobuf-es's BinaryWriter copies every nested message on join).
 */
function encodeEvents(events: readonly Event[], token: string): Uint8Array {
  const sizes = new Array<number>(events.length);
  let total = token === "" ? 0 : 1 + lengthDelimited(Buffer.byteLength(token));
  for (let i = 0; i < events.length; i++) {
    sizes[i] = eventSize(events[i]!);
    total += 1 + lengthDelimited(sizes[i]!);
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    out[at++] = 0x0a;
    at = varint(out, at, sizes[i]!);
    const time = event.eventTime;
    if (time) {
      out[at++] = 0x0a;
      at = varint(out, at, timestampSize(time));
      if (time.seconds !== 0n) {
        out[at++] = 0x08;
        at = varint64(out, at, time.seconds);
      }
      if (time.nanos !== 0) {
        out[at++] = 0x10;
        at = varint64(out, at, BigInt(time.nanos));
      }
    }
    if (event.eventId !== "") at = string(out, at, 0x12, event.eventId);
    if (event.payload.length > 0) {
      out[at++] = 0x1a;
      at = varint(out, at, event.payload.length);
      out.set(event.payload, at);
      at += event.payload.length;
    }
    for (const key in event.tags) {
      const value = event.tags[key]!;
      out[at++] = 0x22;
      at = varint(
        out,
        at,
        2 + lengthDelimited(Buffer.byteLength(key)) + lengthDelimited(Buffer.byteLength(value)),
      );
      at = string(out, at, 0x0a, key);
      at = string(out, at, 0x12, value);
    }
  }
  if (token !== "") at = string(out, at, 0x12, token);
  if (at !== total) throw new Error(`encoded ${at} bytes, sized ${total}`);
  return out;
}

function eventSize(event: Event): number {
  let size = 0;
  if (event.eventTime) size += 1 + lengthDelimited(timestampSize(event.eventTime));
  if (event.eventId !== "") size += 1 + lengthDelimited(Buffer.byteLength(event.eventId));
  if (event.payload.length > 0) size += 1 + lengthDelimited(event.payload.length);
  for (const key in event.tags) {
    const entry =
      2 + lengthDelimited(Buffer.byteLength(key)) + lengthDelimited(Buffer.byteLength(event.tags[key]!));
    size += 1 + lengthDelimited(entry);
  }
  return size;
}

function timestampSize(time: Timestamp): number {
  return (
    (time.seconds === 0n ? 0 : 1 + varint64Size(time.seconds)) +
    (time.nanos === 0 ? 0 : 1 + varint64Size(BigInt(time.nanos)))
  );
}
