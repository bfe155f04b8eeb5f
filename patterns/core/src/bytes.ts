const encoder = new TextEncoder();

/** Unsigned lexicographic byte order: the order of item keys in every backend. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Byte equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/**
 * Orders record ids by their UTF-8 bytes (what Postgres `COLLATE "C"` and SQLite `BINARY` do),
 * which differs from JavaScript's UTF-16 string order for characters above U+FFFF.
 */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  return compareBytes(encoder.encode(a), encoder.encode(b));
}

/** True when `key` matches `start <= key < end` (an undefined end is unbounded). */
export function inRange(key: Uint8Array, start: Uint8Array, end: Uint8Array | undefined): boolean {
  return compareBytes(key, start) >= 0 && (end === undefined || compareBytes(key, end) < 0);
}
