import type { StoredMsg } from "@nats-io/jetstream";
import type { KeyPredicate, KvItem } from "@prism/core";
import { inBatches, type Waiter } from "./batches.js";
import type { BucketStream } from "./buckets.js";
import { decodeToken, encodeToken, itemKey, recordFilter, splitItemKey } from "./key-encoding.js";
import { decodeValue } from "./value-encoding.js";

/** One call's view of a namespace's stream, and how to wait on it (see `NatsLink.call`). */
export interface BucketCall {
  stream: BucketStream;
  wait: Waiter;
  signal: AbortSignal | undefined;
}

/** One stored put: the message payload and, for an item with an expiry, its TTL in seconds. */
export interface StoredPut {
  payload: Uint8Array;
  ttlSeconds?: number;
}

/** Stored key → stored put, for the puts of one call (a later put of a key wins). */
export type Puts = Map<string, StoredPut>;

/**
 * The largest response a whole-record read asks for; a record holding more falls back to listing
 * its keys and fetching only the page (large values are chunked into records of their own).
 */
const RECORD_READ_MAX_BYTES = 4 * 1024 * 1024;

/** Writes the puts in parallel batches, each one message on the item's subject. */
export function putAll({ stream, wait, signal }: BucketCall, puts: Puts): Promise<void> {
  return inBatches(
    [...puts],
    ([key, put]) =>
      stream.js.publish(
        stream.subjectPrefix + key,
        put.payload,
        put.ttlSeconds === undefined ? undefined : { ttl: String(put.ttlSeconds) },
      ),
    wait,
    signal,
  );
}

/**
 * Removes the record's matching items with purges by subject, which leave no marker behind. A
 * whole record goes in one request; a key set needs no listing, purging an absent key is a no-op.
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

/** A live item of a record, by its encoded key. */
export interface RecordEntry {
  keyToken: string;
  item: KvItem;
}

/**
 * Every live item of a record in one direct get (`multi_last` on the record's subject filter,
 * server ≥ 2.11): the server finds the subjects in its subject tree, so the cost follows the
 * record's size, not the namespace's. `undefined` when the record is too large for one response
 * (over 1,024 items or {@link RECORD_READ_MAX_BYTES}); the caller then lists and fetches a page.
 * Entries come back sorted by key; expired ones are left out.
 */
export async function readRecord(
  { stream, wait, signal }: BucketCall,
  idToken: string,
  now: number,
): Promise<RecordEntry[] | undefined> {
  let messages: StoredMsg[];
  try {
    messages = await wait(
      (async () => {
        const iterator = await stream.jsm.direct.getLastMessagesFor(stream.name, {
          multi_last: [stream.subjectPrefix + recordFilter(idToken)],
          max_bytes: RECORD_READ_MAX_BYTES,
        });
        const collected: StoredMsg[] = [];
        for await (const message of iterator) collected.push(message);
        return collected;
      })(),
      signal,
    );
  } catch (error) {
    if (isTooManyResults(error)) return undefined;
    throw error;
  }
  // A response cut short by max_bytes says how many messages it left out.
  if ((messages.at(-1)?.pending ?? 0) > 0) return undefined;
  const skip = stream.subjectPrefix.length;
  const entries: RecordEntry[] = [];
  for (const message of messages) {
    const encoded = splitItemKey(message.subject.slice(skip));
    if (encoded?.idToken !== idToken) continue;
    const item = toItem(encoded.keyToken, message, now);
    if (item) entries.push({ keyToken: encoded.keyToken, item });
  }
  return entries.sort((a, b) => (a.keyToken < b.keyToken ? -1 : a.keyToken > b.keyToken ? 1 : 0));
}

/** The record's key tokens, ascending (= key byte order), expired items included. */
export async function recordTokens(call: BucketCall, idToken: string): Promise<string[]> {
  const tokens: string[] = [];
  for (const name of await listKeys(call, recordFilter(idToken))) {
    const encoded = splitItemKey(name);
    if (encoded?.idToken === idToken && decodeToken(encoded.keyToken)) tokens.push(encoded.keyToken);
  }
  return tokens.sort();
}

/**
 * Names of the keys matching a subject filter, in no particular order, from stream-info requests
 * with a subject filter (paged: the server details at most 100,000 subjects per response). NATS
 * 2.11+ answers from its subject tree in time proportional to the matches; 2.9 walks every
 * subject of every message block, so on it this costs time proportional to the namespace.
 */
export async function listKeys(call: BucketCall, filter: string): Promise<string[]> {
  const names: string[] = [];
  for await (const page of listKeyPages(call, filter)) names.push(...page.names);
  return names;
}

/** One response of {@link listKeyPages}. */
export interface KeyPage {
  names: string[];
  /**
   * The listing has several pages and the server sorted it: every name of a later page sorts
   * after every name of this one (subject order is scan order, see `key-encoding.ts`).
   */
  sorted: boolean;
}

/**
 * {@link listKeys}, one response (at most 100,000 names) at a time. The requests are made here
 * rather than with `jsm.streams.info`, which fetches every page and merges them into one object
 * synchronously: at a million subjects that blocked the event loop for seconds.
 */
export async function* listKeyPages(
  { stream, wait, signal }: BucketCall,
  filter: string,
): AsyncGenerator<KeyPage> {
  const skip = stream.subjectPrefix.length;
  const subject = `$JS.API.STREAM.INFO.${stream.name}`;
  for (let offset = 0; ; ) {
    const request = JSON.stringify({ subjects_filter: stream.subjectPrefix + filter, offset });
    const reply = await wait(stream.nc.request(subject, request, { timeout: stream.timeoutMs }), signal);
    const info = parseStreamInfo(reply.data);
    const subjects = Object.keys(info.state?.subjects ?? {});
    const total = info.total ?? 0;
    // The server sorts the subjects when it has to page them (more than 100,000).
    yield { names: subjects.map((name) => name.slice(skip)), sorted: total > subjects.length || offset > 0 };
    offset += subjects.length;
    if (subjects.length === 0 || offset >= total) return;
  }
}

/** A stream-info response, or its API error thrown in the driver's shape (`code` = `err_code`). */
function parseStreamInfo(data: Uint8Array): {
  state?: { subjects?: Record<string, number> };
  total?: number;
} {
  const parsed = JSON.parse(new TextDecoder().decode(data)) as {
    error?: { code?: number; err_code?: number; description?: string };
    state?: { subjects?: Record<string, number> };
    total?: number;
  };
  if (parsed.error) {
    throw Object.assign(new Error(parsed.error.description ?? "stream info failed"), {
      name: "JetStreamApiError",
      code: parsed.error.err_code,
      status: parsed.error.code,
    });
  }
  return parsed;
}

/** One item, or `undefined` when it is absent, deleted since its key was listed, or expired. */
export async function fetchItem(
  stream: BucketStream,
  idToken: string,
  keyToken: string,
  now: number,
): Promise<KvItem | undefined> {
  const query = { last_by_subj: stream.subjectPrefix + itemKey(idToken, keyToken) };
  const message = stream.direct
    ? await stream.jsm.direct.getMessage(stream.name, query)
    : await stream.jsm.streams.getMessage(stream.name, query);
  return message ? toItem(keyToken, message, now) : undefined;
}

/** The item a stored message holds; `undefined` for KV delete/purge markers and expired items. */
function toItem(keyToken: string, message: StoredMsg, now: number): KvItem | undefined {
  // Markers of KV-API deletes by versions before stream purges; never written now.
  if (message.header?.get("KV-Operation")) return undefined;
  const key = decodeToken(keyToken);
  if (!key) return undefined;
  const { value, chunked, expiresAt } = decodeValue(message.data);
  // The server removes an expired item within a second or so; until then it is already gone.
  if (expiresAt !== undefined && expiresAt <= now) return undefined;
  const item: KvItem = { key, value };
  if (chunked) item.chunked = true;
  if (expiresAt !== undefined) item.expiresAt = expiresAt;
  return item;
}

/** The server refused a `multi_last` request matching more than 1,024 subjects. */
function isTooManyResults(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === 413;
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
