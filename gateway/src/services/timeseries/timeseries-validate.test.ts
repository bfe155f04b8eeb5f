import { isPrismError } from "@prism/core";
import { describe, expect, it } from "vitest";
import { gatewayConfigSchema } from "../../config/gateway-config.js";
import { decodeReadToken, encodeReadToken, type ReadShape } from "./page-token.js";
import { checkEvents, fromMicros, toMicros } from "./validate.js";

const settings = gatewayConfigSchema.parse({ backends: {} }).timeseries;
const window = { retentionMs: 86_400_000, acceptPastMs: 60_000, acceptFutureMs: 1_000 };
const ts = (ms: number) => fromMicros(BigInt(ms) * 1000n);
const reasonOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return isPrismError(error, "InvalidArgument") ? error.reason : String(error);
  }
  return "accepted";
};

describe("timeseries timestamps", () => {
  it("round-trip microseconds, before 1970 too, and drop sub-microsecond digits", () => {
    for (const micros of [0n, 1n, -1n, -1_500_001n, 1_700_000_000_123_456n]) {
      expect(toMicros(fromMicros(micros), "t")).toBe(micros);
    }
    const nanos = { $typeName: "google.protobuf.Timestamp" as const, seconds: 1n, nanos: 1999 };
    expect(toMicros(nanos, "t")).toBe(1_000_001n);
    expect(reasonOf(() => toMicros({ ...nanos, nanos: 1e9 }, "t"))).toBe("INVALID_TIME_RANGE");
    expect(reasonOf(() => toMicros(undefined, "t"))).toBe("EVENT_TIME_REQUIRED");
  });
});

describe("timeseries batches", () => {
  const now = 1_700_000_000_000;
  const event = (ms: number, eventId = "e") => ({
    $typeName: "prism.timeseries.v1.Event" as const,
    eventTime: ts(ms),
    eventId,
    payload: new Uint8Array(3),
    tags: {},
  });

  it("accept events inside the window and name the first one outside it", () => {
    expect(checkEvents([event(now - 60_000), event(now + 1_000)], settings, window, 10, now)).toHaveLength(2);
    try {
      checkEvents([event(now), event(now - 60_001, "old")], settings, window, 10, now);
      expect.unreachable();
    } catch (error) {
      expect(isPrismError(error, "InvalidArgument") && error.reason).toBe("EVENT_OUTSIDE_WINDOW");
      expect((error as Error).message).toContain("events[1].event_time");
    }
    expect(reasonOf(() => checkEvents([event(now + 1_001)], settings, window, 10, now))).toBe(
      "EVENT_OUTSIDE_WINDOW",
    );
  });

  it("refuse empty batches, ids, oversized payloads and control characters", () => {
    expect(reasonOf(() => checkEvents([], settings, window, 10, now))).toBe("EVENTS_REQUIRED");
    expect(reasonOf(() => checkEvents([event(now, "")], settings, window, 10, now))).toBe(
      "EVENT_ID_REQUIRED",
    );
    expect(reasonOf(() => checkEvents([event(now, "a\u0001")], settings, window, 10, now))).toBe(
      "INVALID_EVENT_ID",
    );
    expect(reasonOf(() => checkEvents([event(now)], settings, window, 2, now))).toBe("VALUE_TOO_LARGE");
    const tagged = { ...event(now), tags: { "": "x" } };
    expect(reasonOf(() => checkEvents([tagged], settings, window, 10, now))).toBe("INVALID_TAG");
  });
});

describe("timeseries page tokens", () => {
  const shape: ReadShape = {
    namespace: "ns",
    seriesId: "s",
    startUs: -5n,
    requestedEndUs: undefined,
    descending: false,
    tagFilter: { a: "1", b: "2" },
  };
  const position = { endUs: 1_700_000_000_000_000n, after: { eventTimeUs: -3n, eventId: "é-1" } };

  it("resume where the previous page ended, with the end the first page fixed", () => {
    const token = encodeReadToken(shape, position);
    expect(decodeReadToken(token, { ...shape, tagFilter: { b: "2", a: "1" } })).toEqual(position);
  });

  it("are refused for another series, range, order or filter, and when malformed", () => {
    const token = encodeReadToken(shape, position);
    for (const other of [
      { seriesId: "t" },
      { startUs: -4n },
      { requestedEndUs: 10n },
      { descending: true },
      { tagFilter: { a: "1" } },
    ]) {
      expect(reasonOf(() => decodeReadToken(token, { ...shape, ...other }))).toBe("INVALID_PAGE_TOKEN");
    }
    expect(reasonOf(() => decodeReadToken("not a token!", shape))).toBe("INVALID_PAGE_TOKEN");
    expect(reasonOf(() => decodeReadToken(token.slice(0, 10), shape))).toBe("INVALID_PAGE_TOKEN");
  });
});
