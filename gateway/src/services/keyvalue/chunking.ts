import { randomBytes } from "node:crypto";
import { type KeyValueBackend, type KvItem, PrismError } from "@prism/core";

/**
 * Values larger than the chunk size are stored as a small manifest item (flagged `chunked`) plus
 * chunk items in a hidden companion record of the same namespace:
 *
 *   companion id = "\x01c\x01" + id      (user ids cannot contain control characters, so it never collides)
 *   chunk key    = len(key) u32 | key | writeId (8 bytes) | index u32
 *
 * The length prefix makes the chunks of one key a contiguous range that no other key's chunks
 * share; the per-write id keeps concurrent writers of one key from mixing each other's chunks.
 * Chunks are written before the manifest, so a reader never sees a manifest without its chunks.
 */
const MANIFEST_VERSION = 1;
const MANIFEST_BYTES = 1 + 8 + 4 + 8;
// U+0001 rather than NUL: PostgreSQL text cannot hold NUL, and U+0001 sorts before every user id.
const HIDDEN_PREFIX = "\u0001";

export const companionId = (id: string): string => `${HIDDEN_PREFIX}c${HIDDEN_PREFIX}${id}`;

/** Records the gateway keeps for itself; never shown to clients. */
export const isHiddenId = (id: string): boolean => id.startsWith(HIDDEN_PREFIX);

interface Manifest {
  writeId: Uint8Array;
  chunkCount: number;
  totalBytes: number;
}

/** The key prefix all chunks of `key` share (every write id). */
export function chunkKeyPrefix(key: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(4 + key.length);
  new DataView(prefix.buffer).setUint32(0, key.length);
  prefix.set(key, 4);
  return prefix;
}

/** The smallest key greater than every key starting with `prefix` (undefined: unbounded). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

/** A large item split into its manifest (to store in the record) and chunks (for the companion). */
export interface SplitItem {
  manifest: KvItem;
  chunks: KvItem[];
  /** Prefix of this write's chunks, to clean them up if the write turns out to be a replay. */
  writePrefix: Uint8Array;
}

export function splitItem(item: KvItem, chunkBytes: number): SplitItem {
  const writeId = randomBytes(8);
  const chunkCount = Math.ceil(item.value.length / chunkBytes);
  const prefix = chunkKeyPrefix(item.key);
  const writePrefix = new Uint8Array(prefix.length + 8);
  writePrefix.set(prefix);
  writePrefix.set(writeId, prefix.length);
  const chunks: KvItem[] = [];
  for (let i = 0; i < chunkCount; i++) {
    const key = new Uint8Array(writePrefix.length + 4);
    key.set(writePrefix);
    new DataView(key.buffer).setUint32(writePrefix.length, i);
    const chunk: KvItem = { key, value: item.value.subarray(i * chunkBytes, (i + 1) * chunkBytes) };
    if (item.expiresAt !== undefined) chunk.expiresAt = item.expiresAt;
    chunks.push(chunk);
  }
  const manifest: KvItem = {
    key: item.key,
    value: encodeManifest({ writeId, chunkCount, totalBytes: item.value.length }),
    chunked: true,
  };
  if (item.expiresAt !== undefined) manifest.expiresAt = item.expiresAt;
  return { manifest, chunks, writePrefix };
}

/** Reads and joins the chunks a manifest item points at. */
export async function assembleValue(
  kv: KeyValueBackend,
  namespace: string,
  id: string,
  manifestItem: KvItem,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const manifest = decodeManifest(manifestItem.value);
  const prefix = chunkKeyPrefix(manifestItem.key);
  const start = new Uint8Array(prefix.length + 8);
  start.set(prefix);
  start.set(manifest.writeId, prefix.length);
  const value = new Uint8Array(manifest.totalBytes);
  let offset = 0;
  let count = 0;
  let after: Uint8Array | undefined;
  for (;;) {
    const page = await kv.get(
      namespace,
      companionId(id),
      { kind: "range", start, ...(prefixEnd(start) ? { end: prefixEnd(start)! } : {}) },
      { signal, limitItems: 64, limitBytes: 64 << 20, ...(after ? { after } : {}) },
    );
    for (const chunk of page.items) {
      if (offset + chunk.value.length > value.length) throw corrupt(namespace);
      value.set(chunk.value, offset);
      offset += chunk.value.length;
      count++;
    }
    if (!page.more) break;
    after = page.items.at(-1)!.key;
  }
  if (count !== manifest.chunkCount || offset !== manifest.totalBytes) throw corrupt(namespace);
  return value;
}

/** Size a manifest stands for, for page accounting. */
export function manifestSize(item: KvItem): number {
  return item.key.length + decodeManifest(item.value).totalBytes;
}

function encodeManifest(manifest: Manifest): Uint8Array {
  const bytes = new Uint8Array(MANIFEST_BYTES);
  const view = new DataView(bytes.buffer);
  bytes[0] = MANIFEST_VERSION;
  bytes.set(manifest.writeId, 1);
  view.setUint32(9, manifest.chunkCount);
  view.setBigUint64(13, BigInt(manifest.totalBytes));
  return bytes;
}

function decodeManifest(bytes: Uint8Array): Manifest {
  if (bytes.length !== MANIFEST_BYTES || bytes[0] !== MANIFEST_VERSION) throw corrupt();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    writeId: bytes.slice(1, 9),
    chunkCount: view.getUint32(9),
    totalBytes: Number(view.getBigUint64(13)),
  };
}

function corrupt(namespace?: string): PrismError {
  return new PrismError("Internal", "a chunked value is incomplete", {
    reason: "CHUNKED_VALUE_INCOMPLETE",
    ...(namespace ? { metadata: { namespace } } : {}),
  });
}
