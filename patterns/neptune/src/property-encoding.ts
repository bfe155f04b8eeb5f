import type { PropertyValue } from "@prism/core";

/**
 * Typed properties as Gremlin properties (ADR 0015). The type is in the key: `s:`, `b:`, `d:`,
 * `i:` or `x:` before the name, so a value never needs an escape and user keys never clash with
 * the `<prefix>_…` bookkeeping keys.
 *
 * - `s:` string and `b:` boolean: native.
 * - `d:` double: a native number, except -0 and integral values beyond ±(2^53 − 1), which the
 *   driver would write as an Int64 (losing the sign of zero, or failing past 2^63): those are
 *   their shortest round-trip decimal string. Read back with `Number()` either way.
 * - `i:` int64: a native number within ±(2^53 − 1) (the driver reads longs as JS numbers), else
 *   its decimal string. Read back with `BigInt()` either way.
 * - `x:` bytes: base64 (Neptune has no byte-array type).
 */
const TAGS = new Set(["s", "b", "d", "i", "x"]);

/** The Gremlin (key, value) pairs of a node's or edge's properties. */
export function encodeProperties(
  properties: Record<string, PropertyValue>,
): [string, string | number | boolean][] {
  return Object.entries(properties).map(([name, value]) => encodeProperty(name, value));
}

function encodeProperty(name: string, value: PropertyValue): [string, string | number | boolean] {
  switch (typeof value) {
    case "string":
      return [`s:${name}`, value];
    case "boolean":
      return [`b:${name}`, value];
    case "bigint": {
      const exact = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
      return [`i:${name}`, exact ? Number(value) : value.toString()];
    }
    case "number": {
      const native = Number.isInteger(value) ? Number.isSafeInteger(value) && !Object.is(value, -0) : true;
      return [`d:${name}`, native ? value : doubleString(value)];
    }
    default:
      return [`x:${name}`, Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")];
  }
}

function doubleString(value: number): string {
  return Object.is(value, -0) ? "-0" : String(value);
}

/**
 * The typed properties of a `valueMap()` (vertex values come as one-element lists, edge values
 * bare). Keys without a type tag (bookkeeping, or written by another client) are left out.
 */
export function decodeProperties(valueMap: unknown): Record<string, PropertyValue> {
  const properties: Record<string, PropertyValue> = {};
  if (!(valueMap instanceof Map)) return properties;
  for (const [key, raw] of valueMap as Map<unknown, unknown>) {
    if (typeof key !== "string" || key[1] !== ":" || !TAGS.has(key[0] ?? "")) continue;
    const value = Array.isArray(raw) ? raw[0] : raw;
    const decoded = decodeValue(key[0] ?? "", value);
    if (decoded !== undefined) properties[key.slice(2)] = decoded;
  }
  return properties;
}

function decodeValue(tag: string, value: unknown): PropertyValue | undefined {
  switch (tag) {
    case "s":
      return typeof value === "string" ? value : undefined;
    case "b":
      return typeof value === "boolean" ? value : undefined;
    case "d":
      return typeof value === "number" || typeof value === "string" ? Number(value) : undefined;
    case "i":
      return typeof value === "number" || typeof value === "string" || typeof value === "bigint"
        ? BigInt(value)
        : undefined;
    default:
      return typeof value === "string" ? new Uint8Array(Buffer.from(value, "base64")) : undefined;
  }
}
