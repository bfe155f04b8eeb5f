import { describe, expect, it } from "vitest";
import {
  decodeScanCursor,
  decodeSeriesScanCursor,
  encodeScanCursor,
  encodeSeriesScanCursor,
  scanCursorInteger,
} from "./scan-cursor.js";

const KIND = "test-scan-1";
const forged = (parts: unknown): string => Buffer.from(JSON.stringify(parts)).toString("base64url");
/** The `[kind, tag]` head of a real cursor, for forging ones that differ only after it. */
const head = (namespace: string): unknown[] =>
  (JSON.parse(Buffer.from(encodeScanCursor(KIND, namespace, []), "base64url").toString()) as unknown[]).slice(
    0,
    2,
  );

function expectInvalid(decode: () => unknown): void {
  expect(decode).toThrow(
    expect.objectContaining({ kind: "InvalidArgument", reason: "INVALID_PAGE_TOKEN", field: "cursor" }),
  );
}

describe("scan cursor", () => {
  it("round-trips its fields, unicode, quotes, backslashes and empty strings included", () => {
    const fields = ["plain", "é😀\u07ff\uffff", 'say "hi"', "back\\slash", "", "[1,2]"];
    const cursor = encodeScanCursor(KIND, "demo", fields);
    expect(cursor).toMatch(/^[\w-]+$/);
    expect(decodeScanCursor(KIND, "demo", cursor, fields.length)).toEqual(fields);
    expect(decodeScanCursor(KIND, "demo", encodeScanCursor(KIND, "demo", []), 0)).toEqual([]);
  });

  it("does not spell the namespace out", () => {
    const cursor = encodeScanCursor(KIND, "secret-namespace", ["x"]);
    expect(Buffer.from(cursor, "base64url").toString()).not.toContain("secret-namespace");
  });

  it("refuses another kind, another namespace and another field count", () => {
    const cursor = encodeScanCursor(KIND, "demo", ["a", "b"]);
    expectInvalid(() => decodeScanCursor("other-scan-1", "demo", cursor, 2));
    expectInvalid(() => decodeScanCursor(KIND, "demo2", cursor, 2));
    expectInvalid(() => decodeScanCursor(KIND, "demo", cursor, 1));
    expectInvalid(() => decodeScanCursor(KIND, "demo", cursor, 3));
  });

  it("refuses a field that is no string", () => {
    for (const field of [1, null, true, ["a"], { a: "b" }]) {
      expectInvalid(() => decodeScanCursor(KIND, "demo", forged([...head("demo"), "a", field]), 2));
    }
    expect(decodeScanCursor(KIND, "demo", forged([...head("demo"), "a", "1"]), 2)).toEqual(["a", "1"]);
  });

  it("refuses what is too long, not base64url, not JSON or no array", () => {
    const long = encodeScanCursor(KIND, "demo", ["x".repeat(3100)]);
    expect(long.length).toBeGreaterThan(4096);
    expectInvalid(() => decodeScanCursor(KIND, "demo", long, 1));
    const fits = encodeScanCursor(KIND, "demo", ["x".repeat(3000)]);
    expect(decodeScanCursor(KIND, "demo", fits, 1)).toEqual(["x".repeat(3000)]);
    for (const bad of ["", "not a cursor", "%%%", "a+b/c=", Buffer.from("[1,").toString("base64url")]) {
      expectInvalid(() => decodeScanCursor(KIND, "demo", bad, 1));
    }
    for (const notArray of [{ kind: KIND }, "text", 7, null]) {
      expectInvalid(() => decodeScanCursor(KIND, "demo", forged(notArray), 1));
    }
  });
});

describe("scanCursorInteger", () => {
  it("reads decimal integers within bounds, and nothing else", () => {
    expect(scanCursorInteger("42", 0n, 100n)).toBe(42n);
    expect(scanCursorInteger("-9223372036854775808", -(1n << 63n), 0n)).toBe(-(1n << 63n));
    for (const bad of ["", "-1", "101", "1.5", "1e3", " 1", "0x10", "+1", "1".repeat(21)]) {
      expectInvalid(() => scanCursorInteger(bad, 0n, 100n));
    }
  });
});

describe("series scan cursor", () => {
  it("round-trips a position at the ends of the time range", () => {
    for (const eventTimeUs of [0n, -(1n << 63n), (1n << 63n) - 1n, 1_700_000_000_000_000n]) {
      const last = { seriesId: 'cpu "é"', event: { eventTimeUs, eventId: "e/1" } };
      const cursor = encodeSeriesScanCursor(KIND, "demo", last);
      expect(decodeSeriesScanCursor(KIND, "demo", cursor)).toEqual({
        seriesId: 'cpu "é"',
        eventTimeUs,
        eventId: "e/1",
      });
    }
  });

  it("is undefined for no cursor: a scan from the start", () => {
    expect(decodeSeriesScanCursor(KIND, "demo", undefined)).toBeUndefined();
  });

  it("refuses a time that is no int64", () => {
    for (const time of ["1.5", "x", "9223372036854775808", ""]) {
      expectInvalid(() => decodeSeriesScanCursor(KIND, "demo", forged([...head("demo"), "s", time, "e"])));
    }
  });
});
