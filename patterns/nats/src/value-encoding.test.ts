import { isPrismError } from "@prism/core";
import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue } from "./value-encoding.js";

describe("value encoding", () => {
  it("round-trips values with and without the chunked marker", () => {
    for (const chunked of [false, true]) {
      for (const value of [new Uint8Array(), Uint8Array.of(0, 1, 0xff)]) {
        const decoded = decodeValue(encodeValue(value, chunked));
        expect(decoded.chunked).toBe(chunked);
        expect(Buffer.from(decoded.value).equals(Buffer.from(value))).toBe(true);
      }
    }
  });

  it("refuses values it did not write", () => {
    expect(() => decodeValue(new Uint8Array())).toThrow();
    try {
      decodeValue(Uint8Array.of(0x80, 1));
      expect.unreachable();
    } catch (error) {
      expect(isPrismError(error, "Internal")).toBe(true);
    }
  });
});
