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
  takePage,
  throwIfAborted,
  type WriteOptions,
  type WriteResult,
} from "@prism/core";
import { type ItemRow, type ScanItemRow, SQL } from "./sqlite-schema.js";
import type { SqliteDatabase, SqliteStatement } from "./sqlite-types.js";

/** How long an idempotency key is remembered. */
const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
const EMPTY = new Uint8Array();

type Statements = { [K in keyof typeof SQL]: SqliteStatement };

/**
 * KeyValue on SQLite. better-sqlite3 is synchronous, so each call runs to completion on the event
 * loop; writes run in a transaction, which makes `mutate` atomic.
 */
export class SqliteKeyValue implements KeyValueBackend {
  readonly capabilities: KeyValueCapabilities = {
    ttl: true,
    atomicMutate: true,
    maxItemValueBytes: 16 << 20,
  };
  private readonly sql: Statements;
  private readonly writeTx: (namespace: string, key: string | undefined, apply: () => void) => boolean;

  constructor(db: SqliteDatabase) {
    this.sql = Object.fromEntries(
      Object.entries(SQL).map(([name, text]) => [name, db.prepare(text)]),
    ) as Statements;
    // Returns false when the idempotency key was already applied (and then changes nothing).
    this.writeTx = db.transaction((namespace: string, key: string | undefined, apply: () => void) => {
      if (key !== undefined) {
        const forgetAt = Date.now() + IDEMPOTENCY_WINDOW_MS;
        if (this.sql.remember.run({ namespace, key, forgetAt }).changes === 0) return false;
      }
      apply();
      return true;
    });
  }

  async put(namespace: string, id: string, items: KvItem[], options: WriteOptions): Promise<WriteResult> {
    return this.write(namespace, options, () => {
      for (const item of items) this.upsert(namespace, id, item);
    });
  }

  async get(namespace: string, id: string, predicate: KeyPredicate, options: GetOptions): Promise<GetResult> {
    throwIfAborted(options.signal);
    const rows = this.matching(namespace, id, predicate, Date.now(), options.after);
    const { page, more } = takePage(rows, itemBytes, options);
    return { items: page, more };
  }

  async delete(
    namespace: string,
    id: string,
    predicate: KeyPredicate,
    options: WriteOptions,
  ): Promise<WriteResult> {
    return this.write(namespace, options, () => this.deleteMatching(namespace, id, predicate));
  }

  async mutate(
    namespace: string,
    id: string,
    mutations: KvMutation[],
    options: WriteOptions,
  ): Promise<MutateResult> {
    const result = await this.write(namespace, options, () => {
      for (const mutation of mutations) {
        if (mutation.op === "put") this.upsert(namespace, id, mutation.item);
        else this.deleteMatching(namespace, id, mutation.predicate);
      }
    });
    return { ...result, atomic: true };
  }

  async scan(namespace: string, options: ScanOptions): Promise<ScanResult> {
    throwIfAborted(options.signal);
    const now = Date.now();
    const after = options.after;
    const rows = after
      ? this.sql.scanFrom.iterate({ namespace, afterId: after.id, afterKey: after.key, now })
      : this.sql.scanAll.iterate({ namespace, now });
    const { page, more } = takePage(
      mapRows(rows as Iterable<ScanItemRow>, (row) => ({ id: row.id, item: toItem(row) })),
      (row) => itemBytes(row.item),
      options,
    );
    return { rows: page, more };
  }

  /** Deletes up to `batch` expired items and forgotten idempotency keys; returns how many went. */
  sweep(now = Date.now(), batch = 1000): number {
    return this.sql.sweepItems.run({ now, batch }).changes + this.sql.sweepKeys.run({ now, batch }).changes;
  }

  private write(namespace: string, options: WriteOptions, apply: () => void): WriteResult {
    throwIfAborted(options.signal);
    try {
      return { replayed: !this.writeTx(namespace, options.idempotencyKey, apply) };
    } catch (error) {
      throw sqliteError(error);
    }
  }

  private upsert(namespace: string, id: string, item: KvItem): void {
    this.sql.upsert.run({
      namespace,
      id,
      key: item.key,
      value: item.value,
      expiresAt: item.expiresAt ?? null,
      chunked: item.chunked ? 1 : 0,
    });
  }

  private deleteMatching(namespace: string, id: string, predicate: KeyPredicate): void {
    if (predicate.kind === "all") this.sql.deleteRecord.run({ namespace, id });
    else if (predicate.kind === "keys")
      for (const key of predicate.keys) this.sql.deleteKey.run({ namespace, id, key });
    else if (predicate.end === undefined) this.sql.deleteRange.run({ namespace, id, start: predicate.start });
    else this.sql.deleteRangeBounded.run({ namespace, id, start: predicate.start, end: predicate.end });
  }

  private *matching(
    namespace: string,
    id: string,
    predicate: KeyPredicate,
    now: number,
    after: Uint8Array | undefined,
  ): Generator<KvItem> {
    if (predicate.kind === "keys") {
      for (const key of predicate.keys) {
        if (after && Buffer.compare(key, after) <= 0) continue;
        const row = this.sql.getKey.get({ namespace, id, key, now }) as ItemRow | undefined;
        if (row) yield toItem(row);
      }
      return;
    }
    const start = predicate.kind === "range" ? predicate.start : EMPTY;
    const end = predicate.kind === "range" ? predicate.end : undefined;
    const exclusive = after !== undefined && Buffer.compare(after, start) >= 0;
    const lower = exclusive ? after : start;
    const statement =
      end === undefined
        ? exclusive
          ? this.sql.getGt
          : this.sql.getGte
        : exclusive
          ? this.sql.getGtBounded
          : this.sql.getGteBounded;
    const rows = statement.iterate(
      end === undefined ? { namespace, id, lower, now } : { namespace, id, lower, end, now },
    );
    yield* mapRows(rows as Iterable<ItemRow>, toItem);
  }
}

function* mapRows<R, T>(rows: Iterable<R>, map: (row: R) => T): Generator<T> {
  for (const row of rows) yield map(row);
}

function toItem(row: ItemRow): KvItem {
  const item: KvItem = { key: row.key, value: row.value };
  if (row.expires_at !== null) item.expiresAt = row.expires_at;
  if (row.chunked) item.chunked = true;
  return item;
}

/** SQLite errors that a caller can act on; the rest are Internal. */
function sqliteError(error: unknown): unknown {
  if (error instanceof PrismError) return error;
  const code = (error as { code?: string }).code ?? "";
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new PrismError("Unavailable", "sqlite database is busy", { cause: error });
  }
  if (code === "SQLITE_FULL")
    return new PrismError("ResourceExhausted", "sqlite database is full", { cause: error });
  return new PrismError("Internal", "sqlite write failed", { cause: error });
}
