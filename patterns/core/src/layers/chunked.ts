import { compareIds } from "../bytes.js";
import { PrismError } from "../errors.js";
import type {
  GetOptions,
  GetResult,
  KeyPredicate,
  KeyValueBackend,
  KeyValueCapabilities,
  KvItem,
  KvMutation,
  MutateResult,
  ScanOptions,
  ScanPosition,
  ScanResult,
  WriteOptions,
  WriteResult,
} from "../keyvalue.js";
import { FIRST_VISIBLE_ID, isHiddenId } from "./chunk-format.js";
import { ChunkReader } from "./chunk-reader.js";
import { ChunkStager, type Staged } from "./chunk-stager.js";

/** Options of {@link chunked}. */
export interface ChunkedOptions {
  /**
   * Values above this many bytes are stored in chunks of this size, lowered to what the backend
   * stores in one item. Default 1 MiB.
   */
  chunkBytes?: number;
  /** The largest value accepted: the layer's `maxItemValueBytes`. */
  maxValueBytes: number;
  /** Chunk bytes per backend call, written or read (at least one chunk per call). Default 4 MiB. */
  batchBytes?: number;
  /**
   * A write whose chunks took longer than this to stage fails (DeadlineExceeded) instead of
   * switching its manifest, so the sweeper (whose grace must exceed this) never removes chunks
   * a manifest is about to reference. Default 2 minutes.
   */
  maxStageMs?: number;
  /** Told about failed best-effort cleanups (a replay's own chunks); the sweeper catches up. */
  onCleanupError?: (error: unknown, namespace: string) => void;
}

const MiB = 1024 * 1024;

/**
 * Wraps a backend so that values up to `maxValueBytes` fit in it: values above the chunk size
 * are staged as chunks under a fresh version in a hidden companion record, then the item is
 * switched to a small manifest pointing at them (see `chunk-format.ts`). Writers never delete
 * chunks, so concurrent writers and readers always see one whole value; unreferenced chunk sets
 * are removed later by a {@link ChunkSweeper}.
 *
 * Costs: a Delete is one backend call; a Put or Mutate without large values is one call; with
 * large values, one call per `batchBytes` of chunks plus one.
 *
 * @example
 * const kv = chunked(postgres.keyvalue, { chunkBytes: 1 << 20, maxValueBytes: 64 << 20 });
 * await kv.put("docs", "d1", [{ key: new Uint8Array(), value: fiveMiB }], {});
 */
export function chunked(backend: KeyValueBackend, options: ChunkedOptions): KeyValueBackend {
  return new ChunkedKeyValue(backend, options);
}

/** The layer {@link chunked} returns. */
export class ChunkedKeyValue implements KeyValueBackend {
  readonly capabilities: KeyValueCapabilities;
  private readonly reader: ChunkReader;
  private readonly stager: ChunkStager;

  constructor(
    private readonly backend: KeyValueBackend,
    options: ChunkedOptions,
  ) {
    const batchBytes = options.batchBytes ?? 4 * MiB;
    this.capabilities = {
      get ttl() {
        return backend.capabilities.ttl;
      },
      get atomicMutate() {
        return backend.capabilities.atomicMutate;
      },
      maxItemValueBytes: options.maxValueBytes,
    };
    this.reader = new ChunkReader(backend, batchBytes);
    this.stager = new ChunkStager(backend, {
      chunkBytes: options.chunkBytes ?? MiB,
      maxValueBytes: options.maxValueBytes,
      batchBytes,
      maxStageMs: options.maxStageMs ?? 2 * 60_000,
      onCleanupError: options.onCleanupError ?? (() => undefined),
    });
  }

  async put(namespace: string, id: string, items: KvItem[], options: WriteOptions): Promise<WriteResult> {
    checkVisible(id);
    const staged = await this.stager.stage(namespace, id, items, options.signal);
    this.stager.checkFresh(staged);
    const result = await this.backend.put(namespace, id, staged.items, options);
    await this.settle(namespace, id, staged, result.replayed);
    return result;
  }

  async get(namespace: string, id: string, predicate: KeyPredicate, options: GetOptions): Promise<GetResult> {
    checkVisible(id);
    const first = await this.backend.get(namespace, id, predicate, options);
    // Most pages hold no chunked value: the backend already bounded them by the same sizes.
    if (!hasChunked(first.items)) return first;
    let after = options.after;
    for (let page: GetResult | undefined = first; ; page = undefined) {
      page ??= await this.backend.get(namespace, id, predicate, {
        ...options,
        ...(after ? { after } : {}),
      });
      const rows = page.items.map((item) => ({ id, item }));
      const done = await this.reader.complete(namespace, rows, page.more, options);
      // Only items deleted while we assembled them can empty a page that had some: read on.
      if (done.rows.length > 0 || !done.more || !done.last) {
        return { items: done.rows.map((row) => row.item), more: done.more };
      }
      after = done.last.item.key;
    }
  }

  /** One backend call; the chunks of deleted values are left to the sweeper. */
  async delete(
    namespace: string,
    id: string,
    predicate: KeyPredicate,
    options: WriteOptions,
  ): Promise<WriteResult> {
    checkVisible(id);
    return this.backend.delete(namespace, id, predicate, options);
  }

  async mutate(
    namespace: string,
    id: string,
    mutations: KvMutation[],
    options: WriteOptions,
  ): Promise<MutateResult> {
    checkVisible(id);
    const puts = mutations.flatMap((m) => (m.op === "put" ? [m.item] : []));
    const staged = await this.stager.stage(namespace, id, puts, options.signal);
    let next = 0;
    const stored = mutations.map(
      (m): KvMutation => (m.op === "put" ? { op: "put", item: staged.items[next++]! } : m),
    );
    this.stager.checkFresh(staged);
    const result = await this.backend.mutate(namespace, id, stored, options);
    await this.settle(namespace, id, staged, result.replayed);
    return result;
  }

  /** Scans user records only (hidden ones sort first and are skipped), with whole values. */
  async scan(namespace: string, options: ScanOptions): Promise<ScanResult> {
    let after: ScanPosition =
      options.after && compareIds(options.after.id, FIRST_VISIBLE_ID) >= 0
        ? options.after
        : { id: FIRST_VISIBLE_ID, key: new Uint8Array() };
    for (;;) {
      const page = await this.backend.scan(namespace, { ...options, after });
      const rows = page.rows.filter((row) => !isHiddenId(row.id));
      const done = await this.reader.complete(namespace, rows, page.more, options);
      if (done.rows.length > 0 || !done.more) return { rows: done.rows, more: done.more };
      // Nothing visible (or everything deleted under us): go on after the last row looked at.
      const last = done.last ?? page.rows.at(-1);
      if (!last) return { rows: [], more: false };
      after = { id: last.id, key: last.item.key };
    }
  }

  /** On a replay nothing references this request's fresh chunks: remove them now. */
  private async settle(namespace: string, id: string, staged: Staged, replayed: boolean): Promise<void> {
    if (replayed) await this.stager.discard(namespace, id, staged);
  }
}

function hasChunked(items: KvItem[]): boolean {
  for (const item of items) if (item.chunked) return true;
  return false;
}

/** Hidden records are the layer's own; callers never address them. */
function checkVisible(id: string): void {
  if (!isHiddenId(id)) return;
  throw new PrismError("InvalidArgument", "record ids must not start with a control character", {
    reason: "INVALID_ID",
    field: "id",
  });
}
