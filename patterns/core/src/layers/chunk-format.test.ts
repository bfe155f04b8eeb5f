import { describe, expect, it } from "vitest";
import { compareBytes } from "../bytes.js";
import {
  chunkKeys,
  chunkRange,
  decodeManifest,
  encodeManifest,
  markerKey,
  newVersion,
  parseMarkerKey,
  prefixEnd,
  sortedUnique,
  versionTime,
} from "./chunk-format.js";

const key = new TextEncoder().encode("item-key");

describe("chunk format", () => {
  it("versions carry their creation time and differ when made in the same millisecond", () => {
    const now = 1_764_470_000_123;
    const [a, b] = [newVersion(now), newVersion(now)];
    expect(versionTime(a)).toBe(now);
    expect(versionTime(b)).toBe(now);
    expect(compareBytes(a, b)).not.toBe(0);
  });

  it("round-trips a manifest and finds a set's chunks inside its range, markers apart", () => {
    const version = newVersion();
    const manifest = { format: 2 as const, version, chunkCount: 3, totalBytes: 5 << 20 };
    expect(decodeManifest(encodeManifest(manifest))).toEqual(manifest);
    const keys = chunkKeys(key, manifest);
    const range = chunkRange(key, version);
    expect([...keys].sort(compareBytes)).toEqual(keys);
    expect(keys.every((k) => compareBytes(k, range.start) >= 0 && compareBytes(k, range.end) < 0)).toBe(true);
    const marker = markerKey(key, version);
    expect(compareBytes(marker, range.start)).toBeLessThan(0);
    expect(parseMarkerKey(marker)).toEqual({ key, version });
    expect(parseMarkerKey(keys[0]!)).toBeUndefined();
  });

  it("rejects bytes that are not a manifest", () => {
    expect(() => decodeManifest(Uint8Array.of(2, 0, 0))).toThrow("a chunked value is incomplete");
  });

  it("computes prefix ends and sorted unique key sets", () => {
    expect(prefixEnd(Uint8Array.of(1, 0xff))).toEqual(Uint8Array.of(2));
    expect(sortedUnique([Uint8Array.of(2), Uint8Array.of(1), Uint8Array.of(2)])).toEqual([
      Uint8Array.of(1),
      Uint8Array.of(2),
    ]);
  });
});
