import type {
  GetOptions,
  GetResult,
  KeyPredicate,
  KeyValueBackend,
  KvItem,
  KvMutation,
  MutateResult,
  ScanOptions,
  ScanResult,
  WriteOptions,
  WriteResult,
} from "@prism/core";
import { diffItems } from "./diff.js";
import type { ShadowState } from "./shadow-state.js";
import { shadowedRead } from "./shadowed-read.js";

/**
 * KeyValue under shadow traffic: `chunked(primary)` answers every call; each acknowledged write
 * is mirrored to `chunked(shadow)` through the namespace's queue, in order per record id; sampled
 * Gets are compared (or, in `read-shadow`, answered by the shadow). Scan stays on the primary.
 *
 * @example const kv = new ShadowKeyValue(chunked(sqlite), chunked(postgres), state)
 */
export class ShadowKeyValue implements KeyValueBackend {
  constructor(
    private readonly primary: KeyValueBackend,
    private readonly shadow: KeyValueBackend,
    private readonly state: ShadowState,
  ) {}

  get capabilities() {
    return this.primary.capabilities;
  }

  async put(namespace: string, id: string, items: KvItem[], options: WriteOptions): Promise<WriteResult> {
    const result = await this.primary.put(namespace, id, items, options);
    if (!result.replayed) {
      this.mirror(id, itemBytes(items), (signal) =>
        this.shadow.put(namespace, id, items, { signal, ...idempotency(options) }),
      );
    }
    return result;
  }

  async delete(
    namespace: string,
    id: string,
    predicate: KeyPredicate,
    options: WriteOptions,
  ): Promise<WriteResult> {
    const result = await this.primary.delete(namespace, id, predicate, options);
    if (!result.replayed) {
      this.mirror(id, 64, (signal) =>
        this.shadow.delete(namespace, id, predicate, { signal, ...idempotency(options) }),
      );
    }
    return result;
  }

  async mutate(
    namespace: string,
    id: string,
    mutations: KvMutation[],
    options: WriteOptions,
  ): Promise<MutateResult> {
    const result = await this.primary.mutate(namespace, id, mutations, options);
    if (!result.replayed) {
      const bytes = mutations.reduce((sum, m) => sum + (m.op === "put" ? itemBytes([m.item]) : 64), 0);
      this.mirror(id, bytes, (signal) =>
        this.shadow.mutate(namespace, id, mutations, { signal, ...idempotency(options) }),
      );
    }
    return result;
  }

  get(namespace: string, id: string, predicate: KeyPredicate, options: GetOptions): Promise<GetResult> {
    return shadowedRead(
      this.state,
      id,
      options.signal,
      (signal) => this.primary.get(namespace, id, predicate, { ...options, signal }),
      // No soft deadline on the shadow: it would cut its page at a different place.
      (signal) => this.shadow.get(namespace, id, predicate, { ...options, softDeadline: undefined, signal }),
      (p, s) => diffItems(p.items, s.items) ?? (p.more === s.more ? undefined : "paging differs"),
    );
  }

  scan(namespace: string, options: ScanOptions): Promise<ScanResult> {
    return this.primary.scan(namespace, options);
  }

  private mirror(id: string, bytes: number, write: (signal: AbortSignal) => Promise<unknown>): void {
    this.state.queue.offer(id, bytes, async (signal) => {
      await write(signal);
    });
  }
}

function itemBytes(items: readonly KvItem[]): number {
  let bytes = 0;
  for (const item of items) bytes += item.key.length + item.value.length;
  return bytes;
}

/** The shadow applies a keyed write at most once too (its own window). */
function idempotency(options: WriteOptions): { idempotencyKey?: string } {
  return options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey };
}
