import { compareBytes, compareIds } from "@prism/core";
import { describe, expect, it } from "vitest";
import {
  compareEncoded,
  decodeId,
  decodeToken,
  encodeId,
  encodeToken,
  itemKey,
  MAX_ENCODED_KEY_LENGTH,
  recordFilter,
  splitItemKey,
} from "./key-encoding.js";

/** Deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random bytes, biased to a few values and short lengths so prefixes and ties are common. */
function randomBytes(next: () => number): Uint8Array {
  const length = next() < 0.1 ? 0 : Math.floor(next() * (next() < 0.8 ? 6 : 64));
  const pool = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
  return Uint8Array.from({ length }, () =>
    next() < 0.5 ? pool[Math.floor(next() * pool.length)]! : Math.floor(next() * 256),
  );
}

const sign = (n: number) => Math.sign(n);
const compareStrings = (a: string, b: string) => (a === b ? 0 : a < b ? -1 : 1);
/** What NATS accepts in a KV key token. */
const NATS_TOKEN = /^[-/_=a-zA-Z0-9]+$/;

describe("key encoding", () => {
  it("round-trips the edge cases as non-empty, NATS-valid tokens", () => {
    const cases = [
      new Uint8Array(),
      Uint8Array.of(0x00),
      Uint8Array.of(0x00, 0x00),
      Uint8Array.of(0xff),
      Uint8Array.of(0xff, 0xff, 0x00),
      Uint8Array.from({ length: 256 }, (_, i) => i),
      new Uint8Array(1024).fill(0xab),
    ];
    for (const bytes of cases) {
      const token = encodeToken(bytes);
      expect(token).toMatch(NATS_TOKEN);
      expect(Buffer.from(decodeToken(token)!).equals(Buffer.from(bytes))).toBe(true);
    }
    expect(encodeToken(new Uint8Array())).toBe("k");
    expect(encodeToken(Uint8Array.of(0xff))).toBe("kvs");
  });

  it("round-trips and preserves unsigned byte order (property, 5000 random pairs)", () => {
    const seed = 0x5eed;
    const next = random(seed);
    for (let i = 0; i < 5000; i++) {
      const a = randomBytes(next);
      const b = randomBytes(next);
      const [ea, eb] = [encodeToken(a), encodeToken(b)];
      const context = `seed ${seed}, case ${i}: ${Buffer.from(a).toString("hex")} vs ${Buffer.from(b).toString("hex")}`;
      expect(Buffer.from(decodeToken(ea)!).toString("hex"), context).toBe(Buffer.from(a).toString("hex"));
      expect(sign(compareStrings(ea, eb)), context).toBe(sign(compareBytes(a, b)));
    }
  });

  it("round-trips UTF-8 ids and orders them by UTF-8 bytes, not UTF-16", () => {
    const ids = ["a", "user-1", "é", "\uFFFD", "\u{1F600}", "with.dots and spaces", "\u0000nul", "名前"];
    for (const id of ids) expect(decodeId(encodeId(id))).toBe(id);
    const byTokens = [...ids].sort((x, y) => compareStrings(encodeId(x), encodeId(y)));
    expect(byTokens).toEqual([...ids].sort(compareIds));
  });

  it("orders stored keys by (id bytes, key bytes), whatever the lengths", () => {
    const rows = [
      { id: "a", key: Uint8Array.of(0xff) },
      { id: "ab", key: new Uint8Array() },
      { id: "a", key: new Uint8Array() },
      { id: "\u{1F600}", key: Uint8Array.of(0x00) },
      { id: "\uFFFD", key: Uint8Array.of(0x01) },
    ];
    const encoded = rows.map((row) => splitItemKey(itemKey(encodeId(row.id), encodeToken(row.key)))!);
    const sorted = encoded.sort(compareEncoded).map((e) => `${decodeId(e.idToken)}/${e.keyToken}`);
    expect(sorted).toEqual(["a/k", "a/kvs", "ab/k", "\uFFFD/k04", "\u{1F600}/k00"]);
  });

  it("rejects tokens it did not make", () => {
    for (const foreign of ["", "x", "kw", "k0", "k01", "kvt", "k-", "K00"]) {
      expect(decodeToken(foreign), foreign).toBeUndefined();
    }
    // Valid base32hex of bytes that are not UTF-8 is not an id.
    expect(decodeId(encodeToken(Uint8Array.of(0xff)))).toBeUndefined();
    expect(splitItemKey("a.b.c")).toBeUndefined();
    expect(splitItemKey("nodot")).toBeUndefined();
  });

  it("fits a 1 KiB key of a long id within the key length bound", () => {
    const key = itemKey(encodeId("i".repeat(512)), encodeToken(new Uint8Array(1024)));
    expect(key.length).toBeLessThanOrEqual(MAX_ENCODED_KEY_LENGTH);
    expect(recordFilter(encodeId("r"))).toBe(`${encodeId("r")}.*`);
  });
});
