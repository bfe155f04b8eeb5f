import type { KeyValueBackend, KvItem } from "../keyvalue.js";

export const KiB = 1024;
export const MiB = 1024 * KiB;

/**
 * `size` bytes that differ for every `seed` (xorshift), so a value assembled from the wrong
 * chunks or in the wrong order never compares equal.
 *
 * @example const a = pattern(1.5 * MiB, 1); const b = pattern(1.5 * MiB, 2)
 */
export function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
    if (i + 1 < size) bytes[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < size) bytes[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < size) bytes[i + 3] = x >>> 24;
  }
  return bytes;
}

/** Byte equality, readable in failures. */
export const same = (a: Uint8Array | undefined, b: Uint8Array): boolean =>
  a !== undefined && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b));

/** Which of `candidates` `value` is, or -1. */
export const whichOf = (value: Uint8Array | undefined, candidates: Uint8Array[]): number =>
  candidates.findIndex((candidate) => same(value, candidate));

/** One backend call as a {@link spy} records it. */
export interface Call {
  method: "put" | "get" | "delete" | "mutate" | "scan";
  id?: string;
  /** Key+value bytes written, for puts. */
  bytes?: number;
}

/**
 * A backend that records every call and may hold some back: `before` runs (and is awaited)
 * ahead of the call it is told about.
 *
 * @example const { kv, calls } = spy(raw); await chunked(kv, opts).delete(ns, "r", { kind: "all" }, {}); calls.length === 1
 */
export function spy(
  backend: KeyValueBackend,
  before: (call: Call) => Promise<void> | void = () => undefined,
): { kv: KeyValueBackend; calls: Call[] } {
  const calls: Call[] = [];
  const record = async (call: Call) => {
    calls.push(call);
    await before(call);
  };
  const size = (items: KvItem[]) => items.reduce((n, item) => n + item.key.length + item.value.length, 0);
  const kv: KeyValueBackend = {
    get capabilities() {
      return backend.capabilities;
    },
    async put(namespace, id, items, options) {
      await record({ method: "put", id, bytes: size(items) });
      return backend.put(namespace, id, items, options);
    },
    async get(namespace, id, predicate, options) {
      await record({ method: "get", id });
      return backend.get(namespace, id, predicate, options);
    },
    async delete(namespace, id, predicate, options) {
      await record({ method: "delete", id });
      return backend.delete(namespace, id, predicate, options);
    },
    async mutate(namespace, id, mutations, options) {
      await record({ method: "mutate", id });
      return backend.mutate(namespace, id, mutations, options);
    },
    async scan(namespace, options) {
      await record({ method: "scan" });
      return backend.scan(namespace, options);
    },
  };
  return { kv, calls };
}
