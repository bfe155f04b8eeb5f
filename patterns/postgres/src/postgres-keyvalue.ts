import {
  type GetOptions,
  type GetResult,
  type KeyPredicate,
  type KeyValueBackend,
  type KeyValueCapabilities,
  type KvItem,
  type KvMutation,
  type MutateResult,
  type ScanOptions,
  type ScanResult,
  throwIfAborted,
  type WriteOptions,
  type WriteResult,
} from "@prism/core";
import {
  type BoundWrite,
  deleteWrite,
  itemColumns,
  lowerBound,
  type PageRow,
  toItem,
  toPage,
} from "./bind.js";
import { GetBatcher } from "./get-batcher.js";
import type { PostgresPool } from "./postgres-pool.js";
import { bound, type Statement, type Statements } from "./sql.js";

interface ScanRow extends PageRow {
  id: string;
}

/**
 * KeyValue in one PostgreSQL table keyed by `(namespace, id, key)`. Every call is a single
 * prepared statement (one round trip), except `mutate`, which is one transaction; pages are cut
 * to their item and byte bounds inside the database, so no call loads more than one page.
 * Concurrent `get`s of whole records or key sets share statements (see {@link GetBatcher}).
 */
export class PostgresKeyValue implements KeyValueBackend {
  readonly capabilities: KeyValueCapabilities = {
    ttl: true,
    atomicMutate: true,
    // Well under bytea's 1 GiB; above it the gateway chunks, which keeps rows and pages small.
    maxItemValueBytes: 8 << 20,
  };

  private readonly batcher: GetBatcher;

  constructor(
    private readonly pool: PostgresPool,
    private readonly sql: Statements,
  ) {
    this.batcher = new GetBatcher(sql, (statement, values, signal) => this.select(statement, values, signal));
  }

  async put(namespace: string, id: string, items: KvItem[], options: WriteOptions): Promise<WriteResult> {
    return this.write({ statement: this.sql.put, values: itemColumns(namespace, id, items) }, options);
  }

  get(namespace: string, id: string, predicate: KeyPredicate, options: GetOptions): Promise<GetResult> {
    const lower = lowerBound(predicate, options.after);
    if (predicate.kind === "all") return this.batcher.get(namespace, id, undefined, lower, options);
    if (predicate.kind === "keys") return this.batcher.get(namespace, id, predicate.keys, lower, options);
    return this.getRange(namespace, id, lower, predicate.end, options);
  }

  async delete(
    namespace: string,
    id: string,
    predicate: KeyPredicate,
    options: WriteOptions,
  ): Promise<WriteResult> {
    return this.write(deleteWrite(this.sql, namespace, id, predicate), options);
  }

  async mutate(
    namespace: string,
    id: string,
    mutations: KvMutation[],
    options: WriteOptions,
  ): Promise<MutateResult> {
    throwIfAborted(options.signal);
    const steps = mutationSteps(this.sql, namespace, id, mutations);
    const key = options.idempotencyKey;
    const replayed = await this.pool.transaction(options.signal, async (client) => {
      if (key !== undefined) {
        const claim = await client.query(bound(this.sql.claim, [namespace, key, Date.now()]));
        // Claimed before (a concurrent claim waited here for it to commit): nothing was written,
        // so committing the empty transaction changes nothing.
        if (claim.rowCount === 0) return true;
      }
      for (const step of steps) await client.query(bound(step.statement.plain, step.values));
      return false;
    });
    return { replayed, atomic: true };
  }

  async scan(namespace: string, options: ScanOptions): Promise<ScanResult> {
    const values: unknown[] = [namespace, Date.now(), options.limitItems, options.limitBytes];
    let statement = this.sql.scanFirst;
    if (options.after) {
      statement = this.sql.scanAfter;
      values.push(options.after.id, options.after.key);
    }
    const rows = await this.select<ScanRow>(statement, values, options.signal);
    const { page, more } = toPage(rows, (row) => ({ id: row.id, item: toItem(row) }));
    return { rows: page, more };
  }

  /** A range read: rarer and not batched (an open range and a bounded one plan differently). */
  private async getRange(
    namespace: string,
    id: string,
    lower: Uint8Array,
    end: Uint8Array | undefined,
    options: GetOptions,
  ): Promise<GetResult> {
    // The gateway's clock decides expiry, as it does for the `expiresAt` clients see.
    const values: unknown[] = [namespace, id, Date.now(), options.limitItems, options.limitBytes, lower];
    if (end !== undefined) values.push(end);
    const statement = end === undefined ? this.sql.getAll : this.sql.getRange;
    const rows = await this.select<PageRow>(statement, values, options.signal);
    const { page, more } = toPage(rows, toItem);
    return { items: page, more };
  }

  private async select<R>(statement: Statement, values: unknown[], signal?: AbortSignal): Promise<R[]> {
    const result = await this.pool.run(signal, (client) => client.query<R>(bound(statement, values)));
    return result.rows;
  }

  /**
   * Runs one write. With an idempotency key, the claim and the write are one statement, hence
   * one implicit transaction: the write applies exactly when the claim is new.
   */
  private async write({ statement, values }: BoundWrite, options: WriteOptions): Promise<WriteResult> {
    const key = options.idempotencyKey;
    if (key === undefined) {
      await this.pool.run(options.signal, (client) => client.query(bound(statement.plain, values)));
      return { replayed: false };
    }
    const { rows } = await this.pool.run(options.signal, (client) =>
      client.query<{ claimed: number }>(bound(statement.claimed, [...values, key, Date.now()])),
    );
    return { replayed: rows[0]?.claimed === 0 };
  }
}

/** The statements of a mutation list, in order; consecutive puts become one statement. */
function mutationSteps(
  sql: Statements,
  namespace: string,
  id: string,
  mutations: KvMutation[],
): BoundWrite[] {
  const steps: BoundWrite[] = [];
  let puts: KvItem[] = [];
  const flushPuts = () => {
    if (puts.length === 0) return;
    steps.push({ statement: sql.put, values: itemColumns(namespace, id, puts) });
    puts = [];
  };
  for (const mutation of mutations) {
    if (mutation.op === "put") {
      puts.push(mutation.item);
    } else {
      flushPuts();
      steps.push(deleteWrite(sql, namespace, id, mutation.predicate));
    }
  }
  flushPuts();
  return steps;
}
