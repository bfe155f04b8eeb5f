import type { KV } from "@nats-io/kv";
import {
  type GetOptions,
  type GetResult,
  itemBytes,
  type KeyPredicate,
  type KeyValueBackend,
  type KeyValueCapabilities,
  type KvItem,
  type KvMutation,
  type MutateResult,
  PrismError,
  type ScanOptions,
  type ScanResult,
  type ScanRow,
  takePage,
  throwIfAborted,
  unsupported,
  type WriteOptions,
  type WriteResult,
} from "@prism/core";
import { fetchPage } from "./batches.js";
import {
  type BucketCall,
  deleteMatching,
  fetchItem,
  listKeyPages,
  type Puts,
  putAll,
  readRecord,
  recordTokens,
  selectTokens,
} from "./bucket-items.js";
import { type BucketStream, type ServerFeatures, serverFeatures } from "./buckets.js";
import { isBucketGone, isStreamNotFound, toPrismError } from "./errors.js";
import { type Claim, claimKey } from "./idempotency.js";
import {
  checkedKey,
  compareEncoded,
  decodeId,
  decodeToken,
  type EncodedItemKey,
  encodeId,
  encodeToken,
  itemKey,
  splitItemKey,
} from "./key-encoding.js";
import type { NatsLink, NatsSession } from "./nats-link.js";
import { encodeValue, VALUE_OVERHEAD_BYTES } from "./value-encoding.js";

/** Candidates a scan page keeps beyond its item limit, for keys deleted since the listing. */
const SCAN_SLACK = 64;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** NATS servers' default `max_payload`. */
const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/**
 * KeyValue on NATS JetStream: one stream per namespace (a KV bucket's stream, used directly), one
 * message per item (see `key-encoding.ts` for the subjects and `value-encoding.ts` for the
 * payloads; ADR-0010 for why). NATS has no multi-subject transactions, so `atomicMutate` is not
 * declared; `ttl` is, on servers with per-message TTL (2.11+).
 *
 * A record is read in one `multi_last` direct get on its subject filter, a key set by one direct
 * get per key: neither walks the namespace. A scan lists the namespace's subjects on each page
 * (JetStream keeps no ordered index), so a full scan costs O(keys² / page size): fine for
 * backfills of modest namespaces, not huge ones.
 */
export class NatsKeyValue implements KeyValueBackend {
  readonly capabilities: KeyValueCapabilities;

  constructor(
    private readonly link: NatsLink,
    private readonly backendName: string,
    private readonly maxValueBytes: number,
  ) {
    // Until a server tells its max_payload, assume the NATS default: a value (plus its header
    // and expiry) above it would be refused, and chunking layers size chunks by this number.
    this.capabilities = { ttl: false, atomicMutate: false, maxItemValueBytes: 0 };
    this.fitToServer(DEFAULT_MAX_PAYLOAD_BYTES, undefined);
  }

  /**
   * Declares what the connected server accepts: the value size of one message (its payload is
   * the value plus at most {@link VALUE_OVERHEAD_BYTES} of header, expiry and `Nats-TTL`; the
   * subject does not count against max_payload), and TTL when it has per-message TTL.
   */
  fitToServer(maxPayloadBytes: number, version: string | undefined): void {
    this.features = serverFeatures(version);
    this.capabilities.ttl = this.features.messageTtl;
    this.capabilities.maxItemValueBytes = Math.min(
      this.maxValueBytes,
      maxPayloadBytes - VALUE_OVERHEAD_BYTES,
    );
  }

  private features: ServerFeatures = serverFeatures(undefined);

  async put(namespace: string, id: string, items: KvItem[], options: WriteOptions): Promise<WriteResult> {
    const puts = this.preparePuts(encodeId(id), items);
    return this.write(namespace, options, (call) => putAll(call, puts));
  }

  async get(namespace: string, id: string, predicate: KeyPredicate, options: GetOptions): Promise<GetResult> {
    return this.read(namespace, options.signal, { items: [], more: false }, async (call) => {
      const idToken = encodeId(id);
      const now = Date.now();
      const after = options.after && encodeToken(options.after);
      if (predicate.kind !== "keys" && call.stream.multiLast) {
        const entries = await readRecord(call, idToken, now);
        if (entries) {
          const wanted = new Set(
            selectTokens(
              entries.map((entry) => entry.keyToken),
              predicate,
            ),
          );
          const items = entries
            .filter((entry) => wanted.has(entry.keyToken) && (after === undefined || entry.keyToken > after))
            .map((entry) => entry.item);
          const { page, more } = takePage(items, itemBytes, options);
          return { items: page, more };
        }
      }
      // The gateway sends a key set sorted and unique, and encoding keeps that order: no listing.
      let tokens =
        predicate.kind === "keys"
          ? predicate.keys.map(encodeToken)
          : selectTokens(await recordTokens(call, idToken), predicate);
      if (after !== undefined) tokens = tokens.filter((token) => token > after);
      const fetch = (token: string) => fetchItem(call.stream, idToken, token, now);
      const { page, more } = await fetchPage(tokens, fetch, itemBytes, options, call.wait, call.signal);
      return { items: page, more };
    });
  }

  async delete(
    namespace: string,
    id: string,
    predicate: KeyPredicate,
    options: WriteOptions,
  ): Promise<WriteResult> {
    return this.write(namespace, options, (call) => deleteMatching(call, encodeId(id), predicate));
  }

  /** Applies mutations in order, each visible as soon as it lands: not atomic. */
  async mutate(
    namespace: string,
    id: string,
    mutations: KvMutation[],
    options: WriteOptions,
  ): Promise<MutateResult> {
    const idToken = encodeId(id);
    // Everything is checked before anything is written.
    const steps = mutations.map((m) => (m.op === "put" ? this.preparePuts(idToken, [m.item]) : m.predicate));
    const result = await this.write(namespace, options, async (call) => {
      // Consecutive puts go out as one parallel batch; a delete waits for the puts before it.
      let pending: Puts = new Map();
      for (const step of steps) {
        if (step instanceof Map) {
          for (const [key, value] of step) {
            pending.delete(key);
            pending.set(key, value);
          }
          continue;
        }
        await putAll(call, pending);
        pending = new Map();
        await deleteMatching(call, idToken, step);
      }
      await putAll(call, pending);
    });
    return { ...result, atomic: false };
  }

  async scan(namespace: string, options: ScanOptions): Promise<ScanResult> {
    return this.read(namespace, options.signal, { rows: [], more: false }, async (call) => {
      const now = Date.now();
      const after = options.after && {
        idToken: encodeId(options.after.id),
        keyToken: encodeToken(options.after.key),
      };
      // Only the first candidates after the cursor matter: keep the smallest few while walking
      // the listing, and let the event loop breathe, so a namespace of millions of keys costs
      // O(keys) time in slices rather than one long sort that stalls every other call.
      const wanted = options.limitItems + 1 + SCAN_SLACK;
      let kept: EncodedItemKey[] = [];
      let truncated = false;
      const trim = () => {
        kept.sort(compareEncoded);
        if (kept.length > wanted) {
          kept = kept.slice(0, wanted);
          truncated = true;
        }
      };
      let walked = 0;
      for await (const { names, sorted } of listKeyPages(call, ">")) {
        for (const name of names) {
          const encoded = splitItemKey(name);
          if (!encoded || (after && compareEncoded(encoded, after) <= 0)) continue;
          kept.push(encoded);
          if (kept.length >= 2 * wanted) trim();
          if (++walked % 20_000 === 0) await yieldToEventLoop();
        }
        // Sorted pages: later ones hold only larger keys, so a full page's worth ends the walk
        // (the chunk sweeper's one-row scans of the hidden ids, which sort first, stop here).
        if (sorted && kept.length >= wanted) {
          truncated = true;
          break;
        }
      }
      trim();
      const entries: (EncodedItemKey & { id: string })[] = [];
      for (const encoded of kept) {
        const id = decodeId(encoded.idToken);
        if (id !== undefined && decodeToken(encoded.keyToken) !== undefined) entries.push({ ...encoded, id });
      }
      const fetch = async (entry: (typeof entries)[number]): Promise<ScanRow | undefined> => {
        const item = await fetchItem(call.stream, entry.idToken, entry.keyToken, now);
        return item && { id: entry.id, item };
      };
      const rowBytes = (row: ScanRow) => itemBytes(row.item);
      const { page, more } = await fetchPage(entries, fetch, rowBytes, options, call.wait, call.signal);
      // Candidates were cut: a page short of deleted or foreign keys still has more after it.
      return { rows: page, more: more || truncated };
    });
  }

  /** Bounds a request by the caller's signal and the connection (see `NatsLink.call`). */
  private readonly wait = <T>(work: Promise<T>, signal?: AbortSignal): Promise<T> =>
    this.link.call(work, signal);

  /**
   * Runs a read on the namespace's bucket; `empty` when the namespace has none (never written, or
   * deleted behind our back).
   */
  private async read<T>(
    namespace: string,
    signal: AbortSignal | undefined,
    empty: T,
    body: (call: BucketCall) => Promise<T>,
  ): Promise<T> {
    let session: NatsSession | undefined;
    try {
      throwIfAborted(signal);
      session = await this.link.session(signal);
      const stream = await this.wait(session.buckets.forRead(namespace), signal);
      return stream ? await body({ stream, wait: this.wait, signal }) : empty;
    } catch (error) {
      if (!isStreamNotFound(error)) throw toPrismError(error, this.backendName, signal);
      session?.buckets.forget(namespace);
      return empty;
    }
  }

  /**
   * Runs a write: claims the idempotency key (a replay stops there), then applies the change to
   * the namespace's bucket, creating the bucket on first use.
   */
  private async write(
    namespace: string,
    options: WriteOptions,
    apply: (call: BucketCall) => Promise<void>,
  ): Promise<WriteResult> {
    const { signal, idempotencyKey } = options;
    try {
      throwIfAborted(signal);
      const session = await this.link.session(signal);
      let claim: Claim | undefined;
      if (idempotencyKey !== undefined) {
        const claimed = await this.onBucket(
          () => session.buckets.forIdempotency(namespace),
          () => session.buckets.forget(namespace),
          signal,
          (kv: KV) => claimKey(kv, idempotencyKey, this.wait, signal),
        );
        if (claimed === "replayed") return { replayed: true };
        claim = claimed;
      }
      try {
        throwIfAborted(signal);
        await this.onBucket(
          () => session.buckets.forWrite(namespace),
          () => session.buckets.forget(namespace),
          signal,
          (stream: BucketStream) => apply({ stream, wait: this.wait, signal }),
        );
      } catch (error) {
        // Not applied, or not wholly: free the key so that the client's retry applies the write.
        await claim?.release();
        throw error;
      }
      return { replayed: false };
    } catch (error) {
      throw toPrismError(error, this.backendName, signal);
    }
  }

  /** Runs `body` on a bucket, recreating the bucket once when it turns out to be gone. */
  private async onBucket<B, T>(
    open: () => Promise<B>,
    forget: () => void,
    signal: AbortSignal | undefined,
    body: (bucket: B) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const bucket = await this.wait(open(), signal);
      try {
        return await body(bucket);
      } catch (error) {
        if (attempt > 1 || !isBucketGone(error)) throw error;
        forget();
      }
    }
  }

  /** Validates and encodes the items of a put before anything is written. */
  private preparePuts(idToken: string, items: KvItem[]): Puts {
    const puts: Puts = new Map();
    const now = Date.now();
    for (const item of items) {
      if (item.expiresAt !== undefined && !this.capabilities.ttl) throw unsupported("nats", "keyvalue.ttl");
      if (item.value.length > this.capabilities.maxItemValueBytes) {
        throw new PrismError("InvalidArgument", "value is larger than the backend stores in one item", {
          reason: "VALUE_TOO_LARGE",
          field: "value",
          metadata: { max_bytes: String(this.capabilities.maxItemValueBytes) },
        });
      }
      const key = checkedKey(itemKey(idToken, encodeToken(item.key)), "key");
      puts.delete(key);
      const payload = encodeValue(item.value, item.chunked === true, item.expiresAt);
      // The server removes the item once its TTL (whole seconds, at least 1) has passed; reads
      // leave it out from `expiresAt` on, whichever comes first.
      puts.set(
        key,
        item.expiresAt === undefined
          ? { payload }
          : { payload, ttlSeconds: Math.max(1, Math.ceil((item.expiresAt - now) / 1000)) },
      );
    }
    return puts;
  }
}
