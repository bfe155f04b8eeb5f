import type { KeyPredicate } from "@prism/core";
import { Fingerprint, foreignToken, malformedToken, tokenBytes } from "../page-tokens.js";

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
  const bytes = tokenBytes(token, "page_token", 8192);
  if (bytes.length < 5 || bytes[0] !== TOKEN_VERSION) throw malformedToken("page_token");
  if (bytes.readUInt32BE(1) !== fingerprint(namespace, id, predicate)) {
    throw foreignToken("page_token", "namespace, id or predicate");
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
  const bytes = tokenBytes(cursor, "cursor", 16384);
  if (bytes.length < 5 || bytes[0] !== TOKEN_VERSION) throw malformedToken("cursor");
  const idLength = bytes.readUInt32BE(1);
  if (5 + idLength > bytes.length) throw malformedToken("cursor");
  try {
    return { id: decoder.decode(bytes.subarray(5, 5 + idLength)), key: bytes.subarray(5 + idLength) };
  } catch {
    throw malformedToken("cursor");
  }
}

/** The fingerprint of the namespace, the id and the predicate's shape. */
function fingerprint(namespace: string, id: string, predicate: KeyPredicate): number {
  const hash = new Fingerprint().text(namespace).text(id).text(predicate.kind);
  if (predicate.kind === "keys") for (const key of predicate.keys) hash.bytes(key);
  if (predicate.kind === "range") {
    hash.bytes(predicate.start);
    if (predicate.end) hash.bytes(predicate.end);
  }
  return hash.value;
}
