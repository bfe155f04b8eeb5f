/**
 * How Prism's (record id, item key) pairs become NATS KV keys.
 *
 * NATS KV keys allow only `[-/_=.a-zA-Z0-9]`, and `.` separates subject tokens, while Prism ids
 * are arbitrary UTF-8 strings and item keys arbitrary bytes (empty, 0x00, 0xFF, 1 KiB long). So
 * every stored key is two tokens:
 *
 *     k<b32(utf8(id))>.k<b32(key)>          e.g. id "a", key "" → `kc4.k`
 *
 * `b32` is base32hex (RFC 4648 §7) in lower case, without padding: the alphabet `0-9a-v` is in
 * ascending ASCII order and each character carries the next 5 bits of the input, so comparing two
 * encodings as strings compares the inputs as unsigned byte strings (a proper prefix sorts first
 * because it is shorter, and its zero-filled last character never exceeds the longer input's).
 * Hex would do too, but base32hex is 20% shorter, which matters because a whole key must fit in a
 * NATS protocol line. The leading `k` keeps the empty key (and empty input generally) a non-empty
 * token, which NATS requires.
 *
 * Consequences the backend relies on: all items of a record match the subject filter
 * `k<b32(id)>.*`; sorting by (id token, key token) as strings is the scan order (id UTF-8 bytes,
 * then key bytes); ranges compare encoded tokens directly, without decoding.
 */

import { PrismError } from "@prism/core";

const ALPHABET = "0123456789abcdefghijklmnopqrstuv";
const DIGIT = new Map([...ALPHABET].map((char, value) => [char, value]));
const TOKEN_PREFIX = "k";

const utf8 = new TextEncoder();
// `fatal`: an id token that is not valid UTF-8 was not written by us; refuse it rather than guess.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Longest NATS key we write. A key travels in protocol lines (`HPUB <subject> <reply> …`) bounded by
 * the server's `max_control_line` (4 KiB by default), next to the bucket prefix and a reply subject.
 */
export const MAX_ENCODED_KEY_LENGTH = 3500;

/** A stored key split into its parts, still encoded (strings order like the decoded bytes). */
export interface EncodedItemKey {
  idToken: string;
  keyToken: string;
}

/**
 * Encodes bytes as one order-preserving NATS key token.
 *
 * @example encodeToken(new Uint8Array()) === "k"; encodeToken(Uint8Array.of(0xff)) === "kvs"
 */
export function encodeToken(bytes: Uint8Array): string {
  let out = TOKEN_PREFIX;
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff; // at most 4 pending + 8 new bits matter
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
  }
  // Zero-fill the last character: keeps prefixes sorting before their extensions.
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * Decodes a token made by {@link encodeToken}; `undefined` when it is not one (a key some other
 * client wrote into the bucket).
 */
export function decodeToken(token: string): Uint8Array | undefined {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const chars = token.length - TOKEN_PREFIX.length;
  const length = Math.floor((chars * 5) / 8);
  // Canonical encodings only: the character count must be exactly what `length` bytes produce.
  if (Math.ceil((length * 8) / 5) !== chars) return undefined;
  const bytes = new Uint8Array(length);
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (let i = TOKEN_PREFIX.length; i < token.length; i++) {
    const value = DIGIT.get(token[i]!);
    if (value === undefined) return undefined;
    buffer = ((buffer << 5) | value) & 0x1fff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes[index++] = (buffer >> bits) & 0xff;
    }
  }
  // The fill bits of the last character must be zero, or two tokens would decode alike.
  if ((buffer & ((1 << bits) - 1)) !== 0) return undefined;
  return bytes;
}

/** The token of a record id (its UTF-8 bytes, encoded). */
export const encodeId = (id: string): string => encodeToken(utf8.encode(id));

/** The record id of an id token; `undefined` when the token is not one of ours. */
export function decodeId(token: string): string | undefined {
  const bytes = decodeToken(token);
  if (!bytes) return undefined;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The NATS KV key of one item.
 *
 * @example itemKey(encodeId("user-1"), encodeToken(new Uint8Array())) // "kelpmashd64.k"
 */
export const itemKey = (idToken: string, keyToken: string): string => `${idToken}.${keyToken}`;

/** The subject filter matching every item of one record. */
export const recordFilter = (idToken: string): string => `${idToken}.*`;

/** Splits a stored key into its tokens; `undefined` for keys that are not item keys. */
export function splitItemKey(name: string): EncodedItemKey | undefined {
  const dot = name.indexOf(".");
  if (dot < 0 || name.indexOf(".", dot + 1) >= 0) return undefined;
  return { idToken: name.slice(0, dot), keyToken: name.slice(dot + 1) };
}

/** Orders encoded keys as the scan does: by id bytes, then key bytes (see the module comment). */
export function compareEncoded(a: EncodedItemKey, b: EncodedItemKey): number {
  if (a.idToken !== b.idToken) return a.idToken < b.idToken ? -1 : 1;
  if (a.keyToken === b.keyToken) return 0;
  return a.keyToken < b.keyToken ? -1 : 1;
}

/** `key` when it fits {@link MAX_ENCODED_KEY_LENGTH}, else InvalidArgument naming `field`. */
export function checkedKey(key: string, field: string): string {
  if (key.length <= MAX_ENCODED_KEY_LENGTH) return key;
  throw new PrismError("InvalidArgument", "record id and item key are too long for this backend", {
    reason: "KEY_TOO_LONG",
    field,
  });
}
