import type { KV } from "@nats-io/kv";
import type { KeyPredicate, KvItem } from "@prism/core";
import { inBatches, type Waiter } from "./batches.js";
import { decodeToken, encodeToken, itemKey, recordFilter, splitItemKey } from "./key-encoding.js";
import { decodeValue } from "./value-encoding.js";

/** One call's view of a bucket: the bucket, and how to wait on it (see `NatsLink.call`). */
export interface BucketCall {
  kv: KV;
  wait: Waiter;
  signal: AbortSignal | undefined;
}

/** Stored KV key → stored value, for the puts of one call (a later put of a key wins). */
export type Puts = Map<string, Uint8Array>;

/** Writes the puts in parallel batches. */
export function putAll({ kv, wait, signal }: BucketCall, puts: Puts): Promise<void> {
  return inBatches([...puts], ([key, value]) => kv.put(key, value), wait, signal);
}

/** Purges the record's matching items; listing first, so absent keys leave no tombstones. */
export async function deleteMatching(
  call: BucketCall,
  idToken: string,
  predicate: KeyPredicate,
): Promise<void> {
  const { kv, wait, signal } = call;
  const doomed = selectTokens(await recordTokens(call, idToken), predicate);
  // Purge (not delete) drops the value from the stream at once, leaving only a small marker.
  await inBatches(doomed, (token) => kv.purge(itemKey(idToken, token)), wait, signal);
}

/** The record's key tokens, ascending (= key byte order). */
export async function recordTokens(call: BucketCall, idToken: string): Promise<string[]> {
  const tokens: string[] = [];
  for (const name of await listKeys(call, recordFilter(idToken))) {
    const encoded = splitItemKey(name);
    if (encoded?.idToken === idToken && decodeToken(encoded.keyToken)) tokens.push(encoded.keyToken);
  }
  return tokens.sort();
}

/** Names of the live keys matching a subject filter, in no particular order. */
export async function listKeys({ kv, wait, signal }: BucketCall, filter: string): Promise<string[]> {
  const keys = await wait(kv.keys(filter), signal);
  const collect = async () => {
    const names: string[] = [];
    for await (const name of keys) names.push(name);
    return names;
  };
  try {
    return await wait(collect(), signal);
  } finally {
    keys.stop(); // releases the listing's consumer when we gave up early
  }
}

/** One item, or `undefined` when it was deleted since its key was listed. */
export async function fetchItem(kv: KV, idToken: string, keyToken: string): Promise<KvItem | undefined> {
  const entry = await kv.get(itemKey(idToken, keyToken));
  if (entry?.operation !== "PUT") return undefined;
  const { value, chunked } = decodeValue(entry.value);
  const item: KvItem = { key: decodeToken(keyToken)!, value };
  if (chunked) item.chunked = true;
  return item;
}

/** The tokens (ascending) that `predicate` selects; for `keys`, those present. */
export function selectTokens(tokens: string[], predicate: KeyPredicate): string[] {
  if (predicate.kind === "all") return tokens;
  if (predicate.kind === "keys") {
    const wanted = new Set(predicate.keys.map(encodeToken));
    return tokens.filter((token) => wanted.has(token));
  }
  // Encoded tokens compare like the keys they encode, so the range applies to them directly.
  const start = encodeToken(predicate.start);
  const end = predicate.end && encodeToken(predicate.end);
  return tokens.filter((token) => token >= start && (end === undefined || token < end));
}
