import { PrismError } from "@prism/core";

const encoder = new TextEncoder();

/**
 * What every page token and cursor shares: they are opaque base64url bytes, at most `maxLength`
 * characters, and a token that does not parse, or was made for another request, is refused
 * with INVALID_PAGE_TOKEN naming the field — never silently skipping or repeating data.
 */
export function tokenBytes(token: string, field: string, maxLength: number): Buffer {
  if (token.length > maxLength || !/^[A-Za-z0-9_-]+$/.test(token)) throw malformedToken(field);
  return Buffer.from(token, "base64url");
}

export function malformedToken(field: string): PrismError {
  return new PrismError(
    "InvalidArgument",
    `${field} is malformed; pass back the value a previous response returned`,
    { reason: "INVALID_PAGE_TOKEN", field },
  );
}

/** A token replayed against another request; `what` lists what it must match. */
export function foreignToken(field: string, what: string): PrismError {
  return new PrismError("InvalidArgument", `${field} belongs to a different ${what}`, {
    reason: "INVALID_PAGE_TOKEN",
    field,
  });
}

/**
 * FNV-1a over a request's parts, each followed by a separator byte: the fingerprint that binds
 * a token to the request it came from.
 *
 * @example const hash = new Fingerprint().text(namespace).bytes(key).value;
 */
export class Fingerprint {
  value = 0x811c9dc5;

  bytes(bytes: Uint8Array): this {
    let hash = this.value;
    for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    this.value = Math.imul(hash ^ 0xff, 0x01000193) >>> 0;
    return this;
  }

  text(text: string): this {
    return this.bytes(encoder.encode(text));
  }
}
