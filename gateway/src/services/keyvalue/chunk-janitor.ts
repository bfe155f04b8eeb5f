import { inRange, type KeyPredicate, type KeyValueBackend, type KvItem, type KvMutation } from "@prism/core";
import { chunkKeyPrefix, companionId, prefixEnd } from "./chunking.js";

/** One large value's chunks, written under `writePrefix` in the companion record. */
export interface ChunkWrite {
  key: Uint8Array;
  writePrefix: Uint8Array;
  chunks: { key: Uint8Array; value: Uint8Array; expiresAt?: number }[];
  /** The item stored in the record in place of the value. */
  manifest?: KvItem;
}

/** What a write leaves a key with: chunks of one write to keep, or none (`keep` undefined). */
export interface ChunkOutcome {
  key: Uint8Array;
  keep?: Uint8Array;
}

/** Chunks per backend call when storing, so one call stays a few MiB. */
const CHUNKS_PER_CALL = 4;

/**
 * Stores chunks and removes the ones a write or delete leaves unreferenced. Removal is best
 * effort after the client's write has succeeded: a failure costs storage, never data, and is
 * reported through `onError`.
 */
export class ChunkJanitor {
  constructor(private readonly onError: (error: unknown, namespace: string) => void) {}

  async storeChunks(
    kv: KeyValueBackend,
    namespace: string,
    id: string,
    writes: ChunkWrite[],
    signal: AbortSignal,
  ): Promise<void> {
    const chunks = writes.flatMap((w) => w.chunks);
    for (let i = 0; i < chunks.length; i += CHUNKS_PER_CALL) {
      await kv.put(namespace, companionId(id), chunks.slice(i, i + CHUNKS_PER_CALL), { signal });
    }
  }

  /**
   * After a put or mutate: on a replay, drop this request's chunks; otherwise drop every chunk
   * set the outcome no longer references.
   */
  async afterWrite(
    kv: KeyValueBackend,
    namespace: string,
    id: string,
    writes: ChunkWrite[],
    outcomes: ChunkOutcome[],
    replayed: boolean,
  ): Promise<void> {
    const deletes: KvMutation[] = [];
    if (replayed) {
      for (const write of writes) deletes.push(rangeDelete(write.writePrefix, prefixEnd(write.writePrefix)));
    } else {
      for (const { key, keep } of outcomes) {
        const prefix = chunkKeyPrefix(key);
        if (keep) {
          deletes.push(rangeDelete(prefix, keep));
          const afterKept = prefixEnd(keep);
          if (afterKept) deletes.push(rangeDelete(afterKept, prefixEnd(prefix)));
        } else {
          deletes.push(rangeDelete(prefix, prefixEnd(prefix)));
        }
      }
    }
    await this.drop(kv, namespace, id, deletes);
  }

  /** After a Delete: drop the chunks of what it removed. */
  async afterDelete(
    kv: KeyValueBackend,
    namespace: string,
    id: string,
    predicate: KeyPredicate,
    chunkedInRange: Uint8Array[],
  ): Promise<void> {
    if (predicate.kind === "all") {
      await this.drop(kv, namespace, id, [{ op: "delete", predicate: { kind: "all" } }]);
      return;
    }
    const keys = predicate.kind === "keys" ? predicate.keys : chunkedInRange;
    await this.afterWrite(
      kv,
      namespace,
      id,
      [],
      keys.map((key) => ({ key })),
      false,
    );
  }

  /** Keys of chunked items matching `predicate`, read before a delete removes their manifests. */
  async chunkedKeys(
    kv: KeyValueBackend,
    namespace: string,
    id: string,
    predicate: KeyPredicate,
    signal: AbortSignal,
  ): Promise<Uint8Array[]> {
    const keys: Uint8Array[] = [];
    let after: Uint8Array | undefined;
    for (;;) {
      const page = await kv.get(namespace, id, predicate, {
        signal,
        limitItems: 1000,
        limitBytes: 4 << 20,
        ...(after ? { after } : {}),
      });
      for (const item of page.items) if (item.chunked) keys.push(item.key);
      if (!page.more) return keys;
      after = page.items.at(-1)!.key;
    }
  }

  private async drop(
    kv: KeyValueBackend,
    namespace: string,
    id: string,
    deletes: KvMutation[],
  ): Promise<void> {
    if (deletes.length === 0) return;
    try {
      await kv.mutate(namespace, companionId(id), deletes, {});
    } catch (error) {
      this.onError(error, namespace);
    }
  }
}

/**
 * What a mutation leaves each chunk-affected key with, replaying its operations in order: the
 * last large put of a key keeps its chunks; a later delete or small put drops them.
 */
export function chunkOutcomes(
  mutations: KvMutation[],
  writesByPut: (ChunkWrite | undefined)[],
  chunkedBefore: Uint8Array[],
): ChunkOutcome[] {
  const state = new Map<string, ChunkOutcome>();
  const name = (key: Uint8Array) =>
    Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
  for (const key of chunkedBefore) state.set(name(key), { key });
  let put = 0;
  for (const m of mutations) {
    if (m.op === "put") {
      const write = writesByPut[put++];
      if (write) state.set(name(m.item.key), { key: m.item.key, keep: write.writePrefix });
      else if (state.has(name(m.item.key))) state.set(name(m.item.key), { key: m.item.key });
      continue;
    }
    const predicate = m.predicate;
    if (predicate.kind === "keys") for (const key of predicate.keys) state.set(name(key), { key });
    if (predicate.kind === "keys") continue;
    for (const [keyName, outcome] of state) {
      const hit =
        predicate.kind === "all" ||
        (predicate.kind === "range" && inRange(outcome.key, predicate.start, predicate.end));
      if (hit) state.set(keyName, { key: outcome.key });
    }
  }
  return [...state.values()];
}

function rangeDelete(start: Uint8Array, end: Uint8Array | undefined): KvMutation {
  return { op: "delete", predicate: { kind: "range", start, ...(end ? { end } : {}) } };
}
