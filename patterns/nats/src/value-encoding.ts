import { PrismError } from "@prism/core";

/**
 * A stored value is one header byte, then (when bit 1 says so) the item's expiry as a big-endian
 * float64 of epoch milliseconds, then the item's value bytes. The header carries what a NATS
 * message has no place for: bit 0 is the gateway's `chunked` marker, bit 1 "an expiry follows";
 * the other bits are reserved (zero), so a later format can tell itself apart. Values written
 * before expiry existed (bit 1 clear) read unchanged.
 */
const CHUNKED = 0b0000_0001;
const EXPIRES = 0b0000_0010;
const EXPIRY_BYTES = 8;

/**
 * Bytes a stored message may add to an item's value: the header byte, an expiry, and the
 * `Nats-TTL` message header (`NATS/1.0\r\nNats-TTL: <seconds>\r\n\r\n`), all counted by the
 * server against `max_payload` and the stream's `max_msg_size`.
 */
export const VALUE_OVERHEAD_BYTES = 64;

/** What a stored value holds besides its bytes. */
export interface StoredValue {
  value: Uint8Array;
  chunked: boolean;
  /** Epoch milliseconds after which the item no longer exists. */
  expiresAt?: number;
}

/**
 * The stored form of an item's value.
 *
 * @example encodeValue(Buffer.from("v"), false) // Uint8Array [0x00, 0x76]
 */
export function encodeValue(value: Uint8Array, chunked: boolean, expiresAt?: number): Uint8Array {
  const extra = expiresAt === undefined ? 0 : EXPIRY_BYTES;
  const stored = new Uint8Array(1 + extra + value.length);
  stored[0] = (chunked ? CHUNKED : 0) | (expiresAt === undefined ? 0 : EXPIRES);
  if (expiresAt !== undefined) new DataView(stored.buffer).setFloat64(1, expiresAt);
  stored.set(value, 1 + extra);
  return stored;
}

/**
 * Splits a stored value back into value, marker and expiry. The value is a view into `stored`,
 * which the driver hands us fresh for every read, so no copy is needed.
 */
export function decodeValue(stored: Uint8Array): StoredValue {
  const header = stored[0];
  if (header === undefined || (header & ~(CHUNKED | EXPIRES)) !== 0) throw corrupt();
  const chunked = (header & CHUNKED) !== 0;
  if ((header & EXPIRES) === 0) return { value: stored.subarray(1), chunked };
  if (stored.length < 1 + EXPIRY_BYTES) throw corrupt();
  const expiresAt = new DataView(stored.buffer, stored.byteOffset, stored.byteLength).getFloat64(1);
  return { value: stored.subarray(1 + EXPIRY_BYTES), chunked, expiresAt };
}

function corrupt(): PrismError {
  return new PrismError("Internal", "a stored value has an unknown format", { reason: "CORRUPT_VALUE" });
}
