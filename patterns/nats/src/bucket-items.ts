import type { KV } from "@nats-io/kv";
import type { KeyPredicate, KvItem } from "@prism/core";
import { inBatches, type Waiter } from "./batches.js";
import type { BucketStream } from "./buckets.js";
import { decodeToken, encodeToken, itemKey, recordFilter, splitItemKey } from "./key-encoding.js";
import { decodeValue } from "./value-encoding.js";

/** One call's view of a bucket: the bucket, and how to wait on it (see `NatsLink.call`). */
export interface BucketCall {
  kv: KV;
  stream: BucketStream;
  wait: Waiter;
  signal: AbortSignal | undefined;
}

/** Stored KV key → stored value, for the puts of one call (a later put of a key wins). */
export type Puts = Map<string, Uint8Array>;

/** Writes the puts in parallel batches. */
export function putAll({ kv, wait, signal }: BucketCall, puts: Puts): Promise<void> {
  return inBatches([...puts], ([key, value]) => kv.put(key, value), wait, signal);
}

/**
 * Removes the record's matching items with stream purges, which leave no marker behind (a KV
 * purge leaves one per key, and listings would then return every key ever written). A whole
 * record goes in one request; a key set needs no listing, purging an absent key is a no-op.
 */
export async function deleteMatching(
  call: BucketCall,
  idToken: string,
  predicate: KeyPredicate,
): Promise<void> {
  const { stream, wait, signal } = call;
  const purge = (filter: string) =>
    stream.jsm.streams.purge(stream.name, { filter: stream.subjectPrefix + filter });
  if (predicate.kind === "all") {
    await wait(purge(recordFilter(idToken)), signal);
    return;
  }
  const doomed =
    predicate.kind === "keys"
      ? predicate.keys.map(encodeToken)
      : selectTokens(await recordTokens(call, idToken), predicate);
  await inBatches(doomed, (token) => purge(itemKey(idToken, token)), wait, signal);
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

/**
 * Names of the keys matching a subject filter, in no particular order (a key purged with the KV
 * API before this version still shows up; {@link fetchItem} then finds no value).
 *
 * One stream-info request with a subject filter, bounded by the request timeout. Not
 * `kv.keys()`: it lists through an ordered push consumer that ends on the message whose
 * "pending" is 0, or else on an idle heartbeat, which the client sets to 30 s (overriding the
 * KV's 5 s). When keys still pending are purged or rewritten while it lists (a chunked value
 * being overwritten), that message never comes and every write postpones the heartbeat: the
 * listing hung until the caller's 30 s deadline, and a consumer reset could list keys twice.
 */
export async function listKeys({ stream, wait, signal }: BucketCall, filter: string): Promise<string[]> {
  const info = await wait(
    stream.jsm.streams.info(stream.name, { subjects_filter: stream.subjectPrefix + filter }),
    signal,
  );
  const skip = stream.subjectPrefix.length;
  return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(skip));
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
