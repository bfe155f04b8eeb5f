import {
  compareIds,
  type GetOptions,
  type GetResult,
  itemBytes,
  type KeyPredicate,
  type KeyValueBackend,
  type KeyValueCapabilities,
  type KvItem,
  type KvMutation,
  type MutateResult,
  type ScanOptions,
  type ScanResult,
  type ScanRow,
  takePage,
  throwIfAborted,
  type WriteOptions,
  type WriteResult,
} from "@prism/core";
import { SortedItems } from "./sorted-items.js";

interface NamespaceData {
  records: Map<string, SortedItems>;
  /** Ids in UTF-8 byte order, rebuilt lazily when ids were added. */
  sortedIds: string[] | undefined;
  /** Idempotency key → when it may be forgotten (epoch ms). */
  appliedKeys: Map<string, number>;
}

/** How long an idempotency key is remembered. */
const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * KeyValue in process memory. Every operation runs synchronously inside one call, so `mutate` is
 * atomic to every other caller.
 */
export class MemoryKeyValue implements KeyValueBackend {
  readonly capabilities: KeyValueCapabilities = {
    ttl: true,
    atomicMutate: true,
    maxItemValueBytes: 64 << 20,
  };
  private readonly namespaces = new Map<string, NamespaceData>();

  async put(namespace: string, id: string, items: KvItem[], options: WriteOptions): Promise<WriteResult> {
    return this.write(namespace, options, (data) => {
      const record = this.record(data, id);
      for (const item of items) record.upsert(copyItem(item));
    });
  }

  async get(namespace: string, id: string, predicate: KeyPredicate, options: GetOptions): Promise<GetResult> {
    throwIfAborted(options.signal);
    const record = this.namespaces.get(namespace)?.records.get(id);
    if (!record) return { items: [], more: false };
    const { page, more } = takePage(
      matching(record, predicate, options.after, Date.now()),
      itemBytes,
      options,
    );
    return { items: page, more };
  }

  async delete(
    namespace: string,
    id: string,
    predicate: KeyPredicate,
    options: WriteOptions,
  ): Promise<WriteResult> {
    return this.write(namespace, options, (data) => this.deleteMatching(data, id, predicate));
  }

  async mutate(
    namespace: string,
    id: string,
    mutations: KvMutation[],
    options: WriteOptions,
  ): Promise<MutateResult> {
    const result = await this.write(namespace, options, (data) => {
      for (const mutation of mutations) {
        if (mutation.op === "put") this.record(data, id).upsert(copyItem(mutation.item));
        else this.deleteMatching(data, id, mutation.predicate);
      }
    });
    return { ...result, atomic: true };
  }

  async scan(namespace: string, options: ScanOptions): Promise<ScanResult> {
    throwIfAborted(options.signal);
    const data = this.namespaces.get(namespace);
    if (!data) return { rows: [], more: false };
    const { page, more } = takePage(
      scanRows(data, this.sortedIds(data), options, Date.now()),
      rowBytes,
      options,
    );
    return { rows: page, more };
  }

  /** Drops expired items and forgotten idempotency keys. */
  sweep(now = Date.now()): void {
    for (const data of this.namespaces.values()) {
      for (const [id, record] of data.records) {
        record.purgeExpired(now);
        if (record.items.length === 0) data.records.delete(id);
      }
      data.sortedIds = undefined;
      for (const [key, forgetAt] of data.appliedKeys) if (forgetAt <= now) data.appliedKeys.delete(key);
    }
  }

  private write(namespace: string, options: WriteOptions, apply: (data: NamespaceData) => void): WriteResult {
    throwIfAborted(options.signal);
    const data = this.namespaceData(namespace);
    if (options.idempotencyKey !== undefined) {
      if (data.appliedKeys.has(options.idempotencyKey)) return { replayed: true };
      data.appliedKeys.set(options.idempotencyKey, Date.now() + IDEMPOTENCY_WINDOW_MS);
    }
    apply(data);
    return { replayed: false };
  }

  private deleteMatching(data: NamespaceData, id: string, predicate: KeyPredicate): void {
    const record = data.records.get(id);
    if (!record) return;
    if (predicate.kind === "all") record.items.length = 0;
    else if (predicate.kind === "keys") for (const key of predicate.keys) record.deleteKey(key);
    else record.deleteRange(predicate.start, predicate.end);
    if (record.items.length === 0) {
      data.records.delete(id);
      data.sortedIds = undefined;
    }
  }

  private namespaceData(namespace: string): NamespaceData {
    let data = this.namespaces.get(namespace);
    if (!data) {
      data = { records: new Map(), sortedIds: undefined, appliedKeys: new Map() };
      this.namespaces.set(namespace, data);
    }
    return data;
  }

  private record(data: NamespaceData, id: string): SortedItems {
    let record = data.records.get(id);
    if (!record) {
      record = new SortedItems();
      data.records.set(id, record);
      data.sortedIds = undefined;
    }
    return record;
  }

  private sortedIds(data: NamespaceData): string[] {
    data.sortedIds ??= [...data.records.keys()].sort(compareIds);
    return data.sortedIds;
  }
}

function* matching(
  record: SortedItems,
  predicate: KeyPredicate,
  after: Uint8Array | undefined,
  now: number,
): Generator<KvItem> {
  if (predicate.kind === "keys") {
    for (const key of predicate.keys) {
      if (after && Buffer.compare(key, after) <= 0) continue;
      const found = record.find(key);
      if (found && live(found, now)) yield found;
    }
    return;
  }
  const start = predicate.kind === "range" ? predicate.start : new Uint8Array();
  const end = predicate.kind === "range" ? predicate.end : undefined;
  const from =
    after && Buffer.compare(after, start) >= 0 ? record.lowerBound(after, true) : record.lowerBound(start);
  const to = end === undefined ? record.items.length : record.lowerBound(end);
  for (let i = from; i < to; i++) {
    const found = record.items[i]!;
    if (live(found, now)) yield found;
  }
}

function* scanRows(
  data: NamespaceData,
  ids: string[],
  options: ScanOptions,
  now: number,
): Generator<ScanRow> {
  const after = options.after;
  let start = 0;
  if (after) {
    let hi = ids.length;
    while (start < hi) {
      const mid = (start + hi) >>> 1;
      if (compareIds(ids[mid]!, after.id) < 0) start = mid + 1;
      else hi = mid;
    }
  }
  for (let i = start; i < ids.length; i++) {
    const id = ids[i]!;
    const record = data.records.get(id);
    if (!record) continue;
    const resume = after && id === after.id ? after.key : undefined;
    for (const item of matching(record, { kind: "all" }, resume, now)) yield { id, item };
  }
}

const live = (item: KvItem, now: number): boolean => item.expiresAt === undefined || item.expiresAt > now;

const rowBytes = (row: ScanRow): number => itemBytes(row.item);

function copyItem(item: KvItem): KvItem {
  const copy: KvItem = { key: Uint8Array.from(item.key), value: Uint8Array.from(item.value) };
  if (item.expiresAt !== undefined) copy.expiresAt = item.expiresAt;
  if (item.chunked) copy.chunked = true;
  return copy;
}
