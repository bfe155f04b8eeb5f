import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ItemSchema } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { describe, expect, it } from "vitest";
import { itemLine, parseLine } from "./kv-lines.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const NOW = Date.parse("2026-06-01T00:00:00Z");

describe("kv lines", () => {
  it("write keys and values as text when UTF-8, else base64, and read them back", () => {
    const flat = create(ItemSchema, { key: new Uint8Array(), value: bytes("héllo") });
    const binary = create(ItemSchema, {
      key: new Uint8Array([0xff, 0]),
      value: new Uint8Array([0xc3, 0x28]),
    });
    expect(itemLine("r1", flat)).toEqual({ id: "r1", value: "héllo" });
    expect(itemLine(undefined, binary)).toEqual({ key_b64: "/wA=", value_b64: "wyg=" });
    for (const item of [flat, binary]) {
      const parsed = parseLine(JSON.stringify(itemLine("r1", item)), NOW);
      expect(parsed).toEqual({ id: "r1", key: item.key, value: item.value });
    }
  });

  it("carry an item's expiry: an import gives it the TTL left, or skips it once passed", () => {
    const item = create(ItemSchema, {
      key: bytes("k"),
      value: bytes("v"),
      expireTime: timestampFromMs(NOW + 60_000),
    });
    const line = JSON.stringify(itemLine("r1", item));
    expect(JSON.parse(line).expire_time).toBe("2026-06-01T00:01:00.000Z");
    expect(parseLine(line, NOW)).toMatchObject({ ttlMs: 60_000 });
    expect(parseLine(line, NOW + 60_000)).toBe("expired");
  });

  it.each([
    ["{", /^not JSON/],
    ["[1]", /^not a JSON object$/],
    ['{"value":"v"}', /^"id" must be a non-empty string$/],
    ['{"id":"a"}', /^"value" or "value_b64" is required$/],
    ['{"id":"a","value":"v","value_b64":"dg=="}', /exclude each other/],
    ['{"id":"a","value_b64":"not base64!"}', /^"value_b64" must be base64$/],
    ['{"id":"a","value":1}', /^"value" must be a string$/],
    ['{"id":"a","value":"v","ttl":5}', /^unknown field ttl/],
    ['{"id":"a","value":"v","expire_time":"soon"}', /must be an RFC 3339 time/],
  ])("refuse %s, saying why", (text, message) => {
    expect(() => parseLine(text, NOW)).toThrow(message);
  });
});
