import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import {
  type Event,
  EventSchema,
  ReadResponseSchema,
  TailResponseSchema,
  WriteRequestSchema,
} from "../gen/prism/timeseries/v1/timeseries_pb.js";
import { decodeWriteRequest, encodeReadResponse, encodeTailResponse } from "./fast-codec.js";

/** A deterministic generator of events that touch every field's edge cases. */
function events(seed: number, count: number): Event[] {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state;
  };
  const texts = ["", "a", "é", "😀", "x".repeat(300), "tab\tnewline\n"];
  return Array.from({ length: count }, () => {
    const seconds = [0n, 1n, -1n, -62_135_596_800n, 253_402_300_799n, BigInt(next())][next() % 6]!;
    const tags: Record<string, string> = {};
    for (let t = next() % 4; t > 0; t--) tags[texts[next() % texts.length]!] = texts[next() % texts.length]!;
    return create(EventSchema, {
      ...(next() % 5 === 0
        ? {}
        : {
            eventTime: {
              seconds,
              nanos: [0, 1, 999_999_999, -1, -(2 ** 31), 2 ** 31 - 1, next() % 1e9][next() % 7]!,
            },
          }),
      eventId: texts[next() % texts.length]!,
      payload: new Uint8Array(next() % 3 === 0 ? 0 : next() % 2000).map(() => next() % 256),
      tags,
    });
  });
}

describe("hand-written TimeSeries codecs", () => {
  it("decode WriteRequests exactly as protobuf-es does", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const message = create(WriteRequestSchema, {
        namespace: seed % 2 ? "ns" : "",
        seriesId: "series-😀",
        events: events(seed, seed % 7 === 0 ? 0 : 50),
        async: seed % 3 === 0,
        ...(seed % 4 === 0 ? { idempotencyToken: { token: "t", generationTime: { seconds: 5n } } } : {}),
      });
      const bytes = toBinary(WriteRequestSchema, message);
      expect(
        equals(WriteRequestSchema, decodeWriteRequest(bytes), fromBinary(WriteRequestSchema, bytes)),
      ).toBe(true);
    }
  });

  it("skip unknown fields and keep the last of a repeated map key, and refuse invalid UTF-8", () => {
    const writer = new BinaryWriter();
    writer.tag(2, WireType.LengthDelimited).string("s");
    writer.tag(99, WireType.Varint).uint32(7);
    writer.tag(3, WireType.LengthDelimited).fork();
    writer.tag(4, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("k");
    writer.tag(2, WireType.LengthDelimited).string("first").join();
    writer.tag(4, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("k");
    writer.tag(2, WireType.LengthDelimited).string("second").join();
    writer.tag(42, WireType.LengthDelimited).bytes(new Uint8Array(3));
    writer.join();
    const bytes = writer.finish();
    const fast = decodeWriteRequest(bytes);
    expect(fast.events[0]!.tags).toEqual({ k: "second" });
    expect(equals(WriteRequestSchema, fast, fromBinary(WriteRequestSchema, bytes))).toBe(true);
    const bad = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(Uint8Array.of(0xff, 0xfe)).finish();
    expect(() => decodeWriteRequest(bad)).toThrow();
    expect(() => fromBinary(WriteRequestSchema, bad)).toThrow();
  });

  it("refuse truncated and corrupted input protobuf-es refuses, and decode the rest the same", () => {
    const bytes = toBinary(
      WriteRequestSchema,
      create(WriteRequestSchema, { seriesId: "s", events: events(3, 20) }),
    );
    let refused = 0;
    for (let cut = 0; cut < bytes.length; cut += 7) {
      for (const input of [bytes.subarray(0, cut), Uint8Array.from(bytes).fill(0xff, cut, cut + 1)]) {
        const ours = attempt(() => decodeWriteRequest(input));
        const theirs = attempt(() => fromBinary(WriteRequestSchema, input));
        // Never more lenient than protobuf-es; stricter where a field runs past its message's end.
        if (theirs === undefined) expect(ours, `at ${cut}`).toBeUndefined();
        if (ours && theirs) expect(equals(WriteRequestSchema, ours, theirs), `at ${cut}`).toBe(true);
        if (!ours) refused++;
      }
    }
    expect(refused).toBeGreaterThan(10);
  });

  it("encode ReadResponses and TailResponses that protobuf-es decodes to the same message", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const read = create(ReadResponseSchema, {
        events: events(seed, 60),
        nextPageToken: seed % 2 ? "tok" : "",
      });
      expect(equals(ReadResponseSchema, fromBinary(ReadResponseSchema, encodeReadResponse(read)), read)).toBe(
        true,
      );
      const tail = create(TailResponseSchema, { events: events(seed + 100, 30) });
      expect(equals(TailResponseSchema, fromBinary(TailResponseSchema, encodeTailResponse(tail)), tail)).toBe(
        true,
      );
    }
  });
});

function attempt<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch {
    return undefined;
  }
}
