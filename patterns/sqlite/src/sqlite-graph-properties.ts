import type { PropertyValue } from "@prism/core";

/**
 * One property as stored: a type tag and a string, so every value comes back exactly and with
 * its JS type. Doubles are written with `String` (shortest round-trip form, exact for every finite
 * double, "-0" kept); int64 as decimal; bytes as base64.
 */
type Tagged = ["s", string] | ["i", string] | ["d", string] | ["b", boolean] | ["y", string];

/** Properties as a JSON object of tagged values, e.g. `{"born":["i","1815"]}`. */
export function encodeProperties(properties: Record<string, PropertyValue>): string {
  const tagged: Record<string, Tagged> = {};
  for (const [name, value] of Object.entries(properties)) {
    Object.defineProperty(tagged, name, { value: encodeValue(value), enumerable: true });
  }
  return JSON.stringify(tagged);
}

export function decodeProperties(text: string): Record<string, PropertyValue> {
  const tagged = JSON.parse(text) as Record<string, Tagged>;
  // fromEntries: a property named __proto__ stays an own property.
  return Object.fromEntries(Object.entries(tagged).map(([name, value]) => [name, decodeValue(value)]));
}

function encodeValue(value: PropertyValue): Tagged {
  switch (typeof value) {
    case "string":
      return ["s", value];
    case "bigint":
      return ["i", value.toString()];
    case "number":
      return ["d", Object.is(value, -0) ? "-0" : String(value)];
    case "boolean":
      return ["b", value];
    default:
      return ["y", Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")];
  }
}

function decodeValue([tag, value]: Tagged): PropertyValue {
  switch (tag) {
    case "s":
      return value;
    case "i":
      return BigInt(value);
    case "d":
      return Number(value);
    case "b":
      return value;
    case "y":
      // A copy: Buffer.from may hand out a slice of its shared pool.
      return new Uint8Array(Buffer.from(value, "base64"));
  }
}
