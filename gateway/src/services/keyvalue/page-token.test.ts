import { isPrismError, type KeyPredicate } from "@prism/core";
import { describe, expect, it } from "vitest";
import { decodePageToken, decodeScanCursor, encodePageToken, encodeScanCursor } from "./page-token.js";

const all: KeyPredicate = { kind: "all" };

describe("page tokens", () => {
  it("round-trip the last key, including empty and binary keys", () => {
    for (const key of [new Uint8Array(), Uint8Array.of(0, 255, 1), new Uint8Array(1024).fill(7)]) {
      expect([...decodePageToken(encodePageToken("ns", "id", all, key), "ns", "id", all)]).toEqual([...key]);
    }
  });

  it("are refused for another namespace, id or predicate", () => {
    const token = encodePageToken("ns", "a", all, Uint8Array.of(1));
    const range: KeyPredicate = { kind: "range", start: Uint8Array.of(1) };
    for (const [namespace, id, predicate] of [
      ["other-ns", "a", all],
      ["ns", "b", all],
      ["ns", "a", range],
    ] as const) {
      expect(() => decodePageToken(token, namespace, id, predicate)).toThrow(
        /different namespace, id or predicate/,
      );
    }
    expect([...decodePageToken(token, "ns", "a", all)]).toEqual([1]);
  });

  it("are refused when malformed", () => {
    for (const bad of [
      "",
      "!!!",
      "AA",
      "x".repeat(9000),
      Buffer.from([9, 0, 0, 0, 0]).toString("base64url"),
    ]) {
      let caught: unknown;
      try {
        decodePageToken(bad, "ns", "a", all);
      } catch (error) {
        caught = error;
      }
      expect(isPrismError(caught, "InvalidArgument"), bad.slice(0, 10)).toBe(true);
    }
  });

  it("scan cursors round-trip ids with any characters", () => {
    const cursor = encodeScanCursor("ü/\u{1F600}", Uint8Array.of(0, 1));
    expect(decodeScanCursor(cursor)).toEqual({ id: "ü/\u{1F600}", key: Buffer.from([0, 1]) });
    expect(() => decodeScanCursor(Buffer.from([1, 0, 0, 0, 99]).toString("base64url"))).toThrow(
      /cursor is malformed/,
    );
  });
});
