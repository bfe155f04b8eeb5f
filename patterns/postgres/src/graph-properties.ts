import { PrismError, type PropertyValue } from "@prism/core";

/**
 * A typed property value as stored in a `jsonb` object, one tag per type: `{"s": "text"}`,
 * `{"i": "-9223372036854775808"}` (int64 as a decimal string: exact at both limits),
 * `{"d": "5e-324"}` (a double as JavaScript's shortest round-trip text, `"-0"` for negative zero:
 * a JSON number would become `numeric`, which has no -0), `{"b": true}`, `{"y": "AAH/"}` (bytes,
 * base64). Each decodes back to the same value and JS type.
 */
type Tagged = { s: string } | { i: string } | { d: string } | { b: boolean } | { y: string };

/**
 * Properties as the JSON text of their `jsonb` column.
 *
 * @example encodeProperties({ born: 1815n }) // '{"born":{"i":"1815"}}'
 */
export function encodeProperties(properties: Record<string, PropertyValue>): string {
  const tagged: Record<string, Tagged> = {};
  for (const [name, value] of Object.entries(properties)) {
    // defineProperty: a property named "__proto__" stays an ordinary key.
    Object.defineProperty(tagged, name, { value: tag(value), enumerable: true });
  }
  return JSON.stringify(tagged);
}

/**
 * Properties back from the `jsonb` column (`pg` has already parsed it).
 *
 * @example decodeProperties({ born: { i: "1815" } }) // { born: 1815n }
 */
export function decodeProperties(stored: unknown): Record<string, PropertyValue> {
  if (typeof stored !== "object" || stored === null) throw corrupt();
  return Object.fromEntries(
    Object.entries(stored as Record<string, unknown>).map(([name, value]) => [name, untag(value)]),
  );
}

function tag(value: PropertyValue): Tagged {
  switch (typeof value) {
    case "string":
      return { s: value };
    case "bigint":
      return { i: value.toString() };
    case "number":
      return { d: Object.is(value, -0) ? "-0" : String(value) };
    case "boolean":
      return { b: value };
    default:
      return { y: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
}

function untag(stored: unknown): PropertyValue {
  if (typeof stored !== "object" || stored === null) throw corrupt();
  const tagged = stored as Record<string, unknown>;
  if (typeof tagged.s === "string") return tagged.s;
  if (typeof tagged.i === "string") return BigInt(tagged.i);
  if (typeof tagged.d === "string") return Number(tagged.d);
  if (typeof tagged.b === "boolean") return tagged.b;
  if (typeof tagged.y === "string") return new Uint8Array(Buffer.from(tagged.y, "base64"));
  throw corrupt();
}

function corrupt(): PrismError {
  return new PrismError("Internal", "a stored graph property cannot be decoded", { reason: "CORRUPT_VALUE" });
}
