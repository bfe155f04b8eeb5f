import { create, toBinary } from "@bufbuild/protobuf";
import { GetRequestSchema, GetResponseSchema } from "@prism/proto/prism/keyvalue/v1/keyvalue";

/**
 * The records every target serves: the gateway holds them in its backend (preloaded through `Put`),
 * the bare server builds the identical Map in its own process, and the direct `pg` reader reads the
 * rows the gateway wrote. Deterministic, so the two children agree without talking to each other.
 */

/** The namespace the gateway (memory backend) and the bare server answer for. */
export const MEMORY_NAMESPACE = "bench-kv";

/** The gateway namespace on the postgres backend. */
export const POSTGRES_NAMESPACE = "bench-kv-pg";

/** How many records and how big each one's single value is. */
export interface Dataset {
  /** Number of record ids, `rec-000000` … */
  readonly records: number;
  /** Length of the one item's value (its key is ""). */
  readonly valueBytes: number;
}

/**
 * The id of record `index`.
 *
 * @example recordId(7) // "rec-000007"
 */
export function recordId(index: number): string {
  return `rec-${index.toString().padStart(6, "0")}`;
}

/**
 * The value of record `index`: `valueBytes` bytes that differ per record.
 *
 * @example recordValue(7, { records: 1000, valueBytes: 100 }).length // 100
 */
export function recordValue(index: number, dataset: Dataset): Uint8Array {
  const value = new Uint8Array(dataset.valueBytes);
  for (let i = 0; i < value.length; i++) value[i] = (index + i) & 0xff;
  return value;
}

/**
 * The encoded `GetRequest` (without gRPC framing) of every record, or of the records `indices` lists.
 *
 * @example encodedRequests("bench-kv", dataset)[7] // GetRequest{namespace, id: "rec-000007"}
 */
export function encodedRequests(
  namespace: string,
  dataset: Dataset,
  indices?: readonly number[],
): Uint8Array[] {
  const list = indices ?? Array.from({ length: dataset.records }, (_, i) => i);
  return list.map((i) =>
    toBinary(GetRequestSchema, create(GetRequestSchema, { namespace, id: recordId(i) })),
  );
}

/**
 * `count` record indices drawn uniformly from `0 … records − 1` by a seeded generator (mulberry32),
 * so every run reads the same "random" records.
 *
 * @example randomIndices(1_000_000, 3, 1) // e.g. [614_321, 12_077, 930_118]
 */
export function randomIndices(records: number, count: number, seed: number): number[] {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return Array.from({ length: count }, () => Math.floor(next() * records));
}

/**
 * The exact bytes a correct server answers for record `index`.
 *
 * @example expectedResponse(0, dataset).length // 106 for a 100-byte value
 */
export function expectedResponse(index: number, dataset: Dataset): Uint8Array {
  const item = { key: new Uint8Array(0), value: recordValue(index, dataset) };
  return toBinary(GetResponseSchema, create(GetResponseSchema, { items: [item] }));
}
