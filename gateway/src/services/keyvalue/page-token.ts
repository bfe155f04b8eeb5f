import { type KeyPredicate, PrismError } from "@prism/core";

const TOKEN_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Get page tokens: opaque base64url of [version][fingerprint u32][last key]. The fingerprint
 * binds a token to the namespace, record and predicate it came from, so a token replayed against
 * another request is rejected instead of silently skipping data.
 */
export function encodePageToken(
  namespace: string,
  id: string,
  predicate: KeyPredicate,
  lastKey: Uint8Array,
): string {
  const bytes = new Uint8Array(5 + lastKey.length);
  bytes[0] = TOKEN_VERSION;
  new DataView(bytes.buffer).setUint32(1, fingerprint(namespace, id, predicate));
  bytes.set(lastKey, 5);
  return Buffer.from(bytes).toString("base64url");
}

/** The last key of the previous page, or InvalidArgument for a token that is not ours or not for this request. */
export function decodePageToken(
  token: string,
  namespace: string,
  id: string,
  predicate: KeyPredicate,
): Uint8Array {
  const bytes =
    token.length <= 8192 && /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, "base64url") : undefined;
  if (!bytes || bytes.length < 5 || bytes[0] !== TOKEN_VERSION) throw badToken("page_token");
  if (bytes.readUInt32BE(1) !== fingerprint(namespace, id, predicate)) {
    throw new PrismError("InvalidArgument", "page_token belongs to a different namespace, id or predicate", {
      reason: "INVALID_PAGE_TOKEN",
      field: "page_token",
    });
  }
  return bytes.subarray(5);
}

/** Scan cursors: base64url of [version][id length u32][id UTF-8][key]. */
export function encodeScanCursor(id: string, key: Uint8Array): string {
  const idBytes = encoder.encode(id);
  const bytes = Buffer.alloc(5 + idBytes.length + key.length);
  bytes[0] = TOKEN_VERSION;
  bytes.writeUInt32BE(idBytes.length, 1);
  bytes.set(idBytes, 5);
  bytes.set(key, 5 + idBytes.length);
  return bytes.toString("base64url");
}

export function decodeScanCursor(cursor: string): { id: string; key: Uint8Array } {
  const bytes =
    cursor.length <= 16384 && /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, "base64url") : undefined;
  if (!bytes || bytes.length < 5 || bytes[0] !== TOKEN_VERSION) throw badToken("cursor");
  const idLength = bytes.readUInt32BE(1);
  if (5 + idLength > bytes.length) throw badToken("cursor");
  try {
    return { id: decoder.decode(bytes.subarray(5, 5 + idLength)), key: bytes.subarray(5 + idLength) };
  } catch {
    throw badToken("cursor");
  }
}

function badToken(field: string): PrismError {
  return new PrismError(
    "InvalidArgument",
    `${field} is malformed; pass back the value a previous response returned`,
    {
      reason: "INVALID_PAGE_TOKEN",
      field,
    },
  );
}

/** FNV-1a over the namespace, the id and the predicate's shape. */
function fingerprint(namespace: string, id: string, predicate: KeyPredicate): number {
  let hash = 0x811c9dc5;
  const mix = (bytes: Uint8Array) => {
    for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    hash = Math.imul(hash ^ 0xff, 0x01000193) >>> 0;
  };
  mix(encoder.encode(namespace));
  mix(encoder.encode(id));
  mix(encoder.encode(predicate.kind));
  if (predicate.kind === "keys") for (const key of predicate.keys) mix(key);
  if (predicate.kind === "range") {
    mix(predicate.start);
    if (predicate.end) mix(predicate.end);
  }
  return hash;
}
