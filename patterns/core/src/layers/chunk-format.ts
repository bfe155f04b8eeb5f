import { compareBytes } from "../bytes.js";
import { PrismError } from "../errors.js";

/**
 * How `chunked()` lays out a large value. The item itself holds a small manifest (flagged
 * `chunked`); the bytes live in a hidden companion record of the same namespace:
 *
 *   companion id = "\u0001c\u0001" + id       (user ids hold no control characters: no collision)
 *   stage marker = 0x01 | len(key) u32 | key | version            (empty value)
 *   chunk        = 0x02 | len(key) u32 | key | version | index u32
 *   version      = creation time (6 bytes, ms) | 10 random bytes
 *
 * Every write stages its chunks under a fresh version and then switches the manifest to it, so
 * concurrent writers never share or delete each other's chunks. Markers sort apart from chunks,
 * so the sweeper lists the chunk sets of a record without reading their bytes; the version's
 * time tells it how old a set is. The length prefix keeps each key's sets a contiguous range.
 *
 * Version 1 manifests (8 random id bytes, chunk keys without the tag byte, no markers) are still
 * read, so values stored by the gateway's earlier chunking stay readable.
 */
const HIDDEN_PREFIX = "\u0001";
const COMPANION_PREFIX = `${HIDDEN_PREFIX}c${HIDDEN_PREFIX}`;
/** An id that sorts after every hidden id and before every user id (which start at U+0020). */
export const FIRST_VISIBLE_ID = "\u0002";

const MARKER_TAG = 0x01;
const CHUNK_TAG = 0x02;
const VERSION_BYTES = 16;
const LEGACY_VERSION_BYTES = 8;
const MANIFEST_V1 = 1;
const MANIFEST_V2 = 2;

/** The companion record holding the chunks of record `id`. @example companionId("u1") === "\u0001c\u0001u1" */
export const companionId = (id: string): string => `${COMPANION_PREFIX}${id}`;

/** The record a companion belongs to, or undefined for other ids. @example primaryId(companionId("u1")) === "u1" */
export const primaryId = (id: string): string | undefined =>
  id.startsWith(COMPANION_PREFIX) ? id.slice(COMPANION_PREFIX.length) : undefined;

/** Records the gateway keeps for itself; never shown to clients. @example isHiddenId("\u0001c\u0001u1") */
export const isHiddenId = (id: string): boolean => id.startsWith(HIDDEN_PREFIX);

/** What a manifest item's value says about the value it stands for. */
export interface Manifest {
  format: 1 | 2;
  version: Uint8Array;
  chunkCount: number;
  totalBytes: number;
}

/**
 * A fresh chunk-set version: 6 bytes of creation time (ms) then 10 random bytes.
 *
 * @example versionTime(newVersion(1700000000000)) === 1700000000000
 */
export function newVersion(now = Date.now()): Uint8Array {
  const version = new Uint8Array(VERSION_BYTES);
  crypto.getRandomValues(version.subarray(6));
  new DataView(version.buffer).setUint16(0, Math.floor(now / 2 ** 32));
  new DataView(version.buffer).setUint32(2, now % 2 ** 32);
  return version;
}

/** When a version was made (epoch ms). @example versionTime(newVersion(5)) === 5 */
export function versionTime(version: Uint8Array): number {
  const view = new DataView(version.buffer, version.byteOffset, version.byteLength);
  return view.getUint16(0) * 2 ** 32 + view.getUint32(2);
}

/** `tag | len(key) u32 | key | version`: the start of a set's marker or chunk keys. */
function setPrefix(tag: number, key: Uint8Array, version: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(1 + 4 + key.length + version.length);
  prefix[0] = tag;
  new DataView(prefix.buffer).setUint32(1, key.length);
  prefix.set(key, 5);
  prefix.set(version, 5 + key.length);
  return prefix;
}

/** The key of a chunk set's stage marker. @example markerKey(b("k"), version) */
export const markerKey = (key: Uint8Array, version: Uint8Array): Uint8Array =>
  setPrefix(MARKER_TAG, key, version);

/** The first key after every marker: markers are the range `[MARKERS_START, MARKERS_END)`. */
export const MARKERS_START = Uint8Array.of(MARKER_TAG);
export const MARKERS_END = Uint8Array.of(MARKER_TAG + 1);

/** The range holding every chunk of one set. @example chunkRange(b("k"), version).start */
export function chunkRange(key: Uint8Array, version: Uint8Array): { start: Uint8Array; end: Uint8Array } {
  const start = setPrefix(CHUNK_TAG, key, version);
  // Versions are fixed-length, so the set's keys are exactly those with this prefix.
  return { start, end: prefixEnd(start) };
}

/** The keys of a set's chunks, ascending, for a manifest of either format. */
export function chunkKeys(key: Uint8Array, manifest: Manifest): Uint8Array[] {
  const prefix =
    manifest.format === MANIFEST_V2
      ? setPrefix(CHUNK_TAG, key, manifest.version)
      : legacyPrefix(key, manifest);
  return Array.from({ length: manifest.chunkCount }, (_, index) => {
    const chunkKey = new Uint8Array(prefix.length + 4);
    chunkKey.set(prefix);
    new DataView(chunkKey.buffer).setUint32(prefix.length, index);
    return chunkKey;
  });
}

function legacyPrefix(key: Uint8Array, manifest: Manifest): Uint8Array {
  const prefix = new Uint8Array(4 + key.length + LEGACY_VERSION_BYTES);
  new DataView(prefix.buffer).setUint32(0, key.length);
  prefix.set(key, 4);
  prefix.set(manifest.version, 4 + key.length);
  return prefix;
}

/** Splits a marker key into item key and version; undefined when it is not one. */
export function parseMarkerKey(marker: Uint8Array): { key: Uint8Array; version: Uint8Array } | undefined {
  if (marker.length < 5 || marker[0] !== MARKER_TAG) return undefined;
  const keyLength = new DataView(marker.buffer, marker.byteOffset, marker.byteLength).getUint32(1);
  if (marker.length !== 5 + keyLength + VERSION_BYTES) return undefined;
  return { key: marker.slice(5, 5 + keyLength), version: marker.slice(5 + keyLength) };
}

/** The manifest value of a set. @example encodeManifest({ format: 2, version, chunkCount: 2, totalBytes: 3 << 19 }) */
export function encodeManifest(manifest: Manifest): Uint8Array {
  const bytes = new Uint8Array(1 + VERSION_BYTES + 4 + 8);
  const view = new DataView(bytes.buffer);
  bytes[0] = MANIFEST_V2;
  bytes.set(manifest.version, 1);
  view.setUint32(1 + VERSION_BYTES, manifest.chunkCount);
  view.setBigUint64(5 + VERSION_BYTES, BigInt(manifest.totalBytes));
  return bytes;
}

/** Reads a manifest of either format; Internal when the bytes are not one. */
export function decodeManifest(bytes: Uint8Array): Manifest {
  const format = bytes[0];
  const versionBytes = format === MANIFEST_V2 ? VERSION_BYTES : LEGACY_VERSION_BYTES;
  if ((format !== MANIFEST_V1 && format !== MANIFEST_V2) || bytes.length !== 1 + versionBytes + 12) {
    throw chunkedValueIncomplete();
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    format,
    version: bytes.slice(1, 1 + versionBytes),
    chunkCount: view.getUint32(1 + versionBytes),
    totalBytes: Number(view.getBigUint64(5 + versionBytes)),
  };
}

/** The smallest key greater than every key starting with `prefix` (prefixes here never are all 0xff). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  throw new RangeError("a prefix of only 0xff bytes has no end");
}

/** Sorts keys ascending and drops duplicates, as a `keys` predicate requires. */
export function sortedUnique(keys: Uint8Array[]): Uint8Array[] {
  const sorted = [...keys].sort(compareBytes);
  return sorted.filter((key, i) => i === 0 || compareBytes(sorted[i - 1]!, key) !== 0);
}

/** The error of a manifest whose chunks are missing or do not add up. */
export function chunkedValueIncomplete(namespace?: string): PrismError {
  return new PrismError("Internal", "a chunked value is incomplete", {
    reason: "CHUNKED_VALUE_INCOMPLETE",
    ...(namespace ? { metadata: { namespace } } : {}),
  });
}
