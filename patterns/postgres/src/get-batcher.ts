import { abortError, type GetOptions, type GetResult } from "@prism/core";
import { type PageRow, toItem } from "./bind.js";
import type { Statement, Statements } from "./sql.js";

/** Most callers one batched statement serves; a fuller queue is sent at once and a new one begun. */
export const MAX_BATCH = 64;

/** Runs one statement on a pooled connection, bounded by `signal`; rejects with a PrismError. */
export type SelectRows = <R>(statement: Statement, values: unknown[], signal?: AbortSignal) => Promise<R[]>;

interface BatchRow extends PageRow {
  slot: number;
}

type Kind = "all" | "keys";

/**
 * Coalesces the `get`s (predicate `all` or `keys`) that arrive in one event-loop turn into one
 * statement per predicate kind: each caller is a row of `unnest(...)` with its own namespace, id,
 * lower bound and limits, and gets exactly the page a statement of its own would return. A turn
 * with one caller runs the single-record statement, as an unbatched call would.
 *
 * Flushed with `setImmediate`, never a timer: it runs right after the I/O callbacks of this turn
 * (every request that arrived in one read from the sockets), so nothing waits for a clock.
 *
 * @example const page = await batcher.get("ns", "rec-1", undefined, lowerBound(predicate, after), options)
 */
export class GetBatcher {
  private all: PendingGet[] = [];
  private keys: PendingGet[] = [];
  private scheduled = false;
  private readonly flush = () => {
    this.scheduled = false;
    this.dispatch("all");
    this.dispatch("keys");
  };

  constructor(
    private readonly sql: Statements,
    private readonly select: SelectRows,
  ) {}

  /**
   * Queues one page read of record `id` from the inclusive key bound `lower` (see `lowerBound`);
   * `keys` undefined reads every key of the record.
   */
  get(
    namespace: string,
    id: string,
    keys: Uint8Array[] | undefined,
    lower: Uint8Array,
    options: GetOptions,
  ): Promise<GetResult> {
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal));
    return new Promise<GetResult>((resolve, reject) => {
      const kind: Kind = keys === undefined ? "all" : "keys";
      const queue = this[kind];
      queue.push(new PendingGet(namespace, id, keys, lower, options, resolve, reject));
      if (queue.length >= MAX_BATCH) {
        this.dispatch(kind);
      } else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private dispatch(kind: Kind): void {
    const queued = this[kind];
    if (queued.length === 0) return;
    this[kind] = [];
    // A caller whose signal fired while queued is answered now and not sent.
    const callers = queued.filter((pending) => !pending.rejectIfAborted());
    if (callers.length === 1) this.runOne(callers[0]!, kind);
    else if (callers.length > 1) this.runBatch(callers, kind);
  }

  /** A lone caller: the single-record statement, bounded by the caller's own signal. */
  private runOne(pending: PendingGet, kind: Kind): void {
    const { namespace, id, keys, lower, options } = pending;
    const values: unknown[] = [namespace, id, Date.now(), options.limitItems, options.limitBytes, lower];
    if (kind === "keys") values.push(keys);
    const statement = kind === "keys" ? this.sql.getKeys : this.sql.getAll;
    this.select<PageRow>(statement, values, options.signal).then(
      (rows) => {
        const result: GetResult = { items: [], more: false };
        for (const row of rows) addRow(result, row);
        pending.resolve(result);
      },
      (error: unknown) => pending.reject(error),
    );
  }

  private runBatch(callers: PendingGet[], kind: Kind): void {
    const batch = new Batch(callers.length);
    const namespaces: string[] = [];
    const ids: string[] = [];
    const lowers: Uint8Array[] = [];
    const limitItems: number[] = [];
    const limitBytes: number[] = [];
    const keys: Uint8Array[] = [];
    const firstKeys: number[] = [];
    const lastKeys: number[] = [];
    for (const pending of callers) {
      pending.join(batch);
      namespaces.push(pending.namespace);
      ids.push(pending.id);
      lowers.push(pending.lower);
      limitItems.push(pending.options.limitItems);
      limitBytes.push(pending.options.limitBytes);
      if (kind === "keys") {
        // Postgres arrays are rectangular, so every caller's keys go in one array, by index range.
        firstKeys.push(keys.length + 1);
        for (const key of pending.keys!) keys.push(key);
        lastKeys.push(keys.length);
      }
    }
    const values: unknown[] = [Date.now(), namespaces, ids, lowers, limitItems, limitBytes];
    if (kind === "keys") values.push(keys, firstKeys, lastKeys);
    const statement = kind === "keys" ? this.sql.getKeysBatch : this.sql.getAllBatch;
    this.select<BatchRow>(statement, values, batch.controller.signal).then(
      (rows) => {
        const results = callers.map((): GetResult => ({ items: [], more: false }));
        for (const row of rows) addRow(results[row.slot - 1]!, row);
        for (const [i, pending] of callers.entries()) pending.resolve(results[i]!);
      },
      (error: unknown) => {
        for (const pending of callers) pending.reject(error);
      },
    );
  }
}

/** A page row into a result, as `toPage` does: kept rows are items, the row after says `more`. */
function addRow(result: GetResult, row: PageRow): void {
  if (row.kept) result.items.push(toItem(row));
  else result.more = true;
}

/** The callers of one batched statement in flight: once all have given up, it is cancelled. */
class Batch {
  readonly controller = new AbortController();

  constructor(private waiting: number) {}

  leave(): void {
    if (--this.waiting === 0) this.controller.abort();
  }
}

/**
 * One queued caller. It is its own abort listener (`handleEvent`), registered only while it is
 * part of a batch in flight: no closure per call, and a lone caller registers none here (the pool
 * listens to its signal instead).
 */
class PendingGet {
  private done = false;
  private batch: Batch | undefined;

  constructor(
    readonly namespace: string,
    readonly id: string,
    readonly keys: Uint8Array[] | undefined,
    readonly lower: Uint8Array,
    readonly options: GetOptions,
    private readonly answer: (result: GetResult) => void,
    private readonly fail: (error: unknown) => void,
  ) {}

  resolve(result: GetResult): void {
    if (this.finish()) this.answer(result);
  }

  reject(error: unknown): void {
    if (this.finish()) this.fail(error);
  }

  /** Rejects with the abort error when the signal has fired already; true if it did. */
  rejectIfAborted(): boolean {
    const signal = this.options.signal;
    if (!signal?.aborted) return false;
    this.reject(abortError(signal));
    return true;
  }

  join(batch: Batch): void {
    this.batch = batch;
    this.options.signal?.addEventListener("abort", this);
  }

  /** The abort listener: answers this caller at once and leaves the rest of the batch be. */
  handleEvent(): void {
    const signal = this.options.signal;
    if (!signal || !this.finish()) return;
    this.fail(abortError(signal));
    this.batch?.leave();
  }

  private finish(): boolean {
    if (this.done) return false;
    this.done = true;
    if (this.batch) this.options.signal?.removeEventListener("abort", this);
    return true;
  }
}
