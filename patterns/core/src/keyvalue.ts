/**
 * The KeyValue pattern: namespace → record id → sorted map of item key (bytes) → value (bytes).
 *
 * The gateway validates every input before it reaches a backend (sizes, ids, predicates), so a
 * backend may rely on: non-empty ids without control characters, sorted-and-unique key sets, positive
 * page limits, and `expiresAt` only when it declares the `ttl` capability.
 */

/** Options every backend call takes. */
export interface CallOptions {
  /** Fires on deadline or cancellation; backends stop work and reject (see `throwIfAborted`). */
  signal?: AbortSignal;
}

/** Options of a write. */
export interface WriteOptions extends CallOptions {
  /**
   * When set, the write is applied at most once per namespace and key: a replay within the
   * backend's idempotency window changes nothing and reports `replayed: true`.
   */
  idempotencyKey?: string;
}

/** One stored item. */
export interface KvItem {
  key: Uint8Array;
  value: Uint8Array;
  /** Epoch milliseconds after which the item is gone. Requires the `ttl` capability. */
  expiresAt?: number;
  /**
   * Set by the gateway when `value` is a manifest of a value stored in chunks. Backends store and
   * return it unchanged; it is not user-visible.
   */
  chunked?: boolean;
}

/** Which items of a record an operation applies to. */
export type KeyPredicate =
  | { kind: "all" }
  /** Sorted ascending and unique. */
  | { kind: "keys"; keys: Uint8Array[] }
  /** `start <= key < end`; `end` undefined = unbounded. */
  | { kind: "range"; start: Uint8Array; end?: Uint8Array };

/** Paging of a read. */
export interface PageOptions extends CallOptions {
  /** Return at most this many items (≥ 1). */
  limitItems: number;
  /**
   * Stop before the item that would take key+value bytes of the page past this bound; at least one
   * item is always returned.
   */
  limitBytes: number;
}

export interface GetOptions extends PageOptions {
  /** Return only keys strictly greater than this (the last key of the previous page). */
  after?: Uint8Array;
  /**
   * Epoch ms after which a layer that assembles values (`chunked`) returns the items already
   * complete with `more: true` instead of reading on; never an empty page. Backends ignore it.
   */
  softDeadline?: number;
}

export interface GetResult {
  /** Ascending by key; never expired items. */
  items: KvItem[];
  /** True when more matching items follow the last one returned. */
  more: boolean;
}

export interface WriteResult {
  /** True when the idempotency key had been applied before and nothing changed. */
  replayed: boolean;
}

export type KvMutation = { op: "put"; item: KvItem } | { op: "delete"; predicate: KeyPredicate };

export interface MutateResult extends WriteResult {
  /** True when all mutations were applied atomically. */
  atomic: boolean;
}

/** A position in a namespace scan: after item `key` of record `id`. */
export interface ScanPosition {
  id: string;
  key: Uint8Array;
}

export interface ScanOptions extends PageOptions {
  after?: ScanPosition;
  /** As {@link GetOptions.softDeadline}: past it, return the rows already complete with `more: true`. */
  softDeadline?: number;
}

export interface ScanRow {
  id: string;
  item: KvItem;
}

export interface ScanResult {
  /** Ordered by id (UTF-8 bytes, see `compareIds`), then key. Never expired items. */
  rows: ScanRow[];
  more: boolean;
}

/** Optional abilities a KeyValue backend declares. The conformance suite checks both ways. */
export interface KeyValueCapabilities {
  /** Per-item expiry. Without it, a put with `expiresAt` rejects with Unimplemented. */
  ttl: boolean;
  /** `mutate` applies all or nothing. */
  atomicMutate: boolean;
  /** Largest value (bytes) the backend stores in one item; the gateway chunks above it. */
  maxItemValueBytes: number;
}

/**
 * A KeyValue store. Every method rejects with a `PrismError` of a documented kind.
 *
 * @example
 * await kv.put("demo-kv", "user-1", [{ key: new Uint8Array(), value: bytes }], {});
 * const { items } = await kv.get("demo-kv", "user-1", { kind: "all" }, { limitItems: 100, limitBytes: 1 << 20 });
 */
export interface KeyValueBackend {
  readonly capabilities: KeyValueCapabilities;
  /** Upserts items of one record. */
  put(namespace: string, id: string, items: KvItem[], options: WriteOptions): Promise<WriteResult>;
  /** Reads one page of a record's matching items. A missing record yields no items. */
  get(namespace: string, id: string, predicate: KeyPredicate, options: GetOptions): Promise<GetResult>;
  /** Deletes matching items; deleting what is not there succeeds. */
  delete(namespace: string, id: string, predicate: KeyPredicate, options: WriteOptions): Promise<WriteResult>;
  /** Applies mutations in order; atomically when `capabilities.atomicMutate`. */
  mutate(
    namespace: string,
    id: string,
    mutations: KvMutation[],
    options: WriteOptions,
  ): Promise<MutateResult>;
  /** One page of every live item of a namespace in (id, key) order. */
  scan(namespace: string, options: ScanOptions): Promise<ScanResult>;
}
