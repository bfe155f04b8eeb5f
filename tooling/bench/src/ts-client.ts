import { type ClientHttp2Session, connect, constants } from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { TsEvent } from "@prism/core";
import {
  ReadRequestSchema,
  TimeSeriesService,
  WriteResponseSchema,
} from "@prism/proto/prism/timeseries/v1/timeseries";
import { frame } from "./h2-client.js";

/**
 * The bench's TimeSeries client on bare `node:http2`, with Write requests encoded by hand and Read
 * responses only counted. protobuf-es spends about 30 µs per event creating and encoding a Write
 * and 9 µs decoding a page: more CPU than the gateway itself, on the same small machine. What the
 * gateway receives and answers is exactly what any client would send and get.
 *
 * @example const client = new TsH2Client(gateway.address, 2); await client.write("ns", "s", events)
 */
export class TsH2Client {
  private readonly sessions: ClientHttp2Session[];
  private next = 0;

  constructor(address: string, connections: number) {
    this.sessions = Array.from({ length: connections }, () => {
      const session = connect(`http://${address}`);
      // Failures surface on each call's stream; an unhandled session 'error' would crash the bench.
      session.on("error", () => undefined);
      return session;
    });
  }

  /** Writes a batch; resolves with the response's `written` and `duplicates`. */
  async write(
    namespace: string,
    seriesId: string,
    events: readonly TsEvent[],
  ): Promise<{ written: number; duplicates: number }> {
    const body = await this.call("Write", encodeWriteRequest(namespace, seriesId, events));
    const { written, duplicates } = fromBinary(WriteResponseSchema, body);
    return { written, duplicates };
  }

  /** Reads one page from `startUs` (to now, ascending); resolves with how many events it held. */
  async read(namespace: string, seriesId: string, startUs: bigint, pageSizeEvents: number): Promise<number> {
    const request = create(ReadRequestSchema, {
      namespace,
      seriesId,
      start: { seconds: startUs / 1_000_000n, nanos: Number(startUs % 1_000_000n) * 1000 },
      pageSizeEvents,
    });
    return countReadEvents(await this.call("Read", toBinary(ReadRequestSchema, request)));
  }

  close(): void {
    for (const session of this.sessions) session.close();
  }

  /** One unary call; resolves with the response message, rejects with the gRPC status. */
  private call(method: string, message: Uint8Array): Promise<Uint8Array> {
    const session = this.sessions[this.next++ % this.sessions.length]!;
    return new Promise((resolve, reject) => {
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: "POST",
        [constants.HTTP2_HEADER_PATH]: `/${TimeSeriesService.typeName}/${method}`,
        [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
        [constants.HTTP2_HEADER_TE]: "trailers",
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let statusMessage = "";
      const readStatus = (headers: Record<string, unknown>) => {
        if (headers["grpc-status"] !== undefined) {
          status = String(headers["grpc-status"]);
          statusMessage = decodeURIComponent(String(headers["grpc-message"] ?? ""));
        }
      };
      stream.on("response", readStatus);
      stream.on("trailers", readStatus);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (error) => {
        statusMessage ||= error.message;
      });
      stream.on("close", () => {
        if (status !== "0") {
          reject(
            new Error(`${method}: ${status ?? "no status"} ${statusMessage || `(reset ${stream.rstCode})`}`),
          );
          return;
        }
        const body = Buffer.concat(chunks);
        if (body.length < 5 || body.readUInt32BE(1) !== body.length - 5) {
          reject(new Error(`${method}: a response of ${body.length} bytes is not one gRPC message`));
          return;
        }
        resolve(body.subarray(5));
      });
      stream.end(frame(message));
    });
  }
}

/**
 * `prism.timeseries.v1.WriteRequest` in protobuf wire format, without protobuf-es (see TsH2Client).
 *
 * @example fromBinary(WriteRequestSchema, encodeWriteRequest("ns", "s", events)).events.length
 */
export function encodeWriteRequest(
  namespace: string,
  seriesId: string,
  events: readonly TsEvent[],
): Uint8Array {
  const eventSizes = events.map(eventSize);
  let size = stringField(namespace) + stringField(seriesId);
  for (const n of eventSizes) size += 1 + varintSize(n) + n;
  const out = new Writer(size);
  out.string(1, namespace);
  out.string(2, seriesId);
  for (const [i, event] of events.entries()) {
    out.tag(3, 2);
    out.varint(eventSizes[i]!);
    const { seconds, nanos } = split(event.eventTimeUs);
    out.tag(1, 2);
    out.varint(timestampSize(seconds, nanos));
    if (seconds !== 0) {
      out.tag(1, 0);
      out.varint(seconds);
    }
    if (nanos !== 0) {
      out.tag(2, 0);
      out.varint(nanos);
    }
    out.string(2, event.eventId);
    if (event.payload.length > 0) {
      out.tag(3, 2);
      out.varint(event.payload.length);
      out.bytes(event.payload);
    }
    for (const [key, value] of Object.entries(event.tags)) {
      out.tag(4, 2);
      out.varint(stringField(key) + stringField(value));
      out.string(1, key);
      out.string(2, value);
    }
  }
  if (out.offset !== size) throw new Error(`encoded ${out.offset} bytes of ${size}`);
  return out.buffer;
}

/**
 * The events of an encoded `ReadResponse` (its field 1 entries), counted without decoding them.
 *
 * @example countReadEvents(toBinary(ReadResponseSchema, create(ReadResponseSchema, { events: [{}, {}] }))) // 2
 */
export function countReadEvents(message: Uint8Array): number {
  let offset = 0;
  let events = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 1;
    for (;;) {
      if (offset >= message.length) throw new Error("a truncated ReadResponse");
      const byte = message[offset++]!;
      value += (byte & 0x7f) * shift;
      if (byte < 0x80) return value;
      shift *= 128;
    }
  };
  while (offset < message.length) {
    const tag = varint();
    const wireType = tag % 8;
    if (wireType === 2) {
      const length = varint();
      if (Math.floor(tag / 8) === 1) events++;
      offset += length;
    } else if (wireType === 0) varint();
    else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else throw new Error(`wire type ${wireType} in a ReadResponse`);
  }
  if (offset !== message.length) throw new Error("a truncated ReadResponse");
  return events;
}

/** Epoch microseconds as Timestamp seconds and nanos (nanos ≥ 0). */
function split(us: bigint): { seconds: number; nanos: number } {
  let seconds = us / 1_000_000n;
  let rest = us % 1_000_000n;
  if (rest < 0n) {
    seconds -= 1n;
    rest += 1_000_000n;
  }
  return { seconds: Number(seconds), nanos: Number(rest) * 1000 };
}

function timestampSize(seconds: number, nanos: number): number {
  return (seconds !== 0 ? 1 + varintSize(seconds) : 0) + (nanos !== 0 ? 1 + varintSize(nanos) : 0);
}

function eventSize(event: TsEvent): number {
  const { seconds, nanos } = split(event.eventTimeUs);
  const time = timestampSize(seconds, nanos);
  let size = 1 + varintSize(time) + time + stringField(event.eventId);
  if (event.payload.length > 0) size += 1 + varintSize(event.payload.length) + event.payload.length;
  for (const [key, value] of Object.entries(event.tags)) {
    const entry = stringField(key) + stringField(value);
    size += 1 + varintSize(entry) + entry;
  }
  return size;
}

/** Bytes of a string field (tag, length, UTF-8), which proto3 omits when empty. */
function stringField(text: string): number {
  const length = Buffer.byteLength(text);
  return length === 0 ? 0 : 1 + varintSize(length) + length;
}

/** Bytes of a non-negative varint (negative int64 never occur here: times are after 1970). */
function varintSize(value: number): number {
  if (value < 0) throw new Error("negative varints are not encoded by the bench");
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes fields into a buffer of known size. Field numbers here are all below 16 (one tag byte). */
class Writer {
  readonly buffer: Buffer;
  offset = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  tag(field: number, wireType: number): void {
    this.buffer[this.offset++] = field * 8 + wireType;
  }

  varint(value: number): void {
    while (value >= 128) {
      this.buffer[this.offset++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buffer[this.offset++] = value;
  }

  bytes(bytes: Uint8Array): void {
    this.buffer.set(bytes, this.offset);
    this.offset += bytes.length;
  }

  string(field: number, text: string): void {
    const length = Buffer.byteLength(text);
    if (length === 0) return;
    this.tag(field, 2);
    this.varint(length);
    this.offset += this.buffer.write(text, this.offset, "utf8");
  }
}
