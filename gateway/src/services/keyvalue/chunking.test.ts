import { compareBytes, type KvMutation } from "@prism/core";
import { describe, expect, it } from "vitest";
import { chunkOutcomes } from "./chunk-janitor.js";
import { chunkKeyPrefix, manifestSize, prefixEnd, splitItem } from "./chunking.js";

const b = (text: string) => new TextEncoder().encode(text);

describe("chunking", () => {
  it("splits a value into ordered chunks under one write prefix", () => {
    const value = Uint8Array.from({ length: 10 }, (_, i) => i);
    const split = splitItem({ key: b("k"), value, expiresAt: 5 }, 4);
    expect(split.chunks.map((c) => [...c.value])).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(split.chunks.every((c) => c.expiresAt === 5)).toBe(true);
    const keys = split.chunks.map((c) => c.key);
    expect([...keys].sort(compareBytes)).toEqual(keys);
    expect(split.manifest).toMatchObject({ key: b("k"), chunked: true, expiresAt: 5 });
    expect(manifestSize(split.manifest)).toBe(1 + 10);
  });

  it("keeps the chunk ranges of different keys apart, even when one key prefixes another", () => {
    const a = chunkKeyPrefix(b("a"));
    const longer = splitItem({ key: b("a\u0000\u0000\u0000"), value: new Uint8Array(8) }, 4);
    const end = prefixEnd(a)!;
    for (const chunk of longer.chunks) {
      const inside = compareBytes(chunk.key, a) >= 0 && compareBytes(chunk.key, end) < 0;
      expect(inside).toBe(false);
    }
  });

  it("prefixEnd is the first key after every key with the prefix", () => {
    expect([...prefixEnd(Uint8Array.of(1, 2))!]).toEqual([1, 3]);
    expect([...prefixEnd(Uint8Array.of(1, 255))!]).toEqual([2]);
    expect(prefixEnd(Uint8Array.of(255, 255))).toBeUndefined();
  });

  it("works out which chunks a mutation keeps, replaying its operations in order", () => {
    const write = (key: string) => ({ key: b(key), writePrefix: b(`${key}-w`), chunks: [] });
    const big = { op: "put", item: { key: b("x"), value: new Uint8Array(), chunked: true } } as KvMutation;
    const small = { op: "put", item: { key: b("x"), value: b("s") } } as KvMutation;
    const del = { op: "delete", predicate: { kind: "keys", keys: [b("x")] } } as KvMutation;
    const text = (outcomes: ReturnType<typeof chunkOutcomes>) =>
      outcomes.map((o) => [Buffer.from(o.key).toString(), o.keep ? Buffer.from(o.keep).toString() : null]);
    expect(text(chunkOutcomes([del, big], [write("x")], []))).toEqual([["x", "x-w"]]);
    expect(text(chunkOutcomes([big, del], [write("x")], []))).toEqual([["x", null]]);
    expect(text(chunkOutcomes([big, small], [write("x"), undefined], []))).toEqual([["x", null]]);
    const all = { op: "delete", predicate: { kind: "all" } } as KvMutation;
    expect(text(chunkOutcomes([all], [], [b("old")]))).toEqual([["old", null]]);
  });
});
