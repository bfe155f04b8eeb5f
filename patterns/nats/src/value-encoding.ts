import { PrismError } from "@prism/core";

/**
 * A stored value is one header byte followed by the item's value bytes. The header carries what a
 * NATS KV entry has no place for: bit 0 is the gateway's `chunked` marker; the other bits are
 * reserved (zero), so a later format can tell itself apart.
 */
export const VALUE_HEADER_BYTES = 1;

const CHUNKED = 0b0000_0001;

/**
 * The stored form of an item's value.
 *
 * @example encodeValue(Buffer.from("v"), false) // Uint8Array [0x00, 0x76]
 */
export function encodeValue(value: Uint8Array, chunked: boolean): Uint8Array {
  const stored = new Uint8Array(VALUE_HEADER_BYTES + value.length);
  stored[0] = chunked ? CHUNKED : 0;
  stored.set(value, VALUE_HEADER_BYTES);
  return stored;
}

/**
 * Splits a stored value back into value and marker. The value is a view into `stored`, which the
 * driver hands us fresh for every read, so no copy is needed.
 */
export function decodeValue(stored: Uint8Array): { value: Uint8Array; chunked: boolean } {
  const header = stored[0];
  if (header === undefined || (header & ~CHUNKED) !== 0) {
    throw new PrismError("Internal", "a stored value has an unknown format", { reason: "CORRUPT_VALUE" });
  }
  return { value: stored.subarray(VALUE_HEADER_BYTES), chunked: (header & CHUNKED) !== 0 };
}
