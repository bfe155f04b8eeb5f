import { bytesEqual } from "../bytes.js";
import { abortError } from "../errors.js";
import type { KeyValueBackend, KvItem, PageOptions, ScanRow } from "../keyvalue.js";
import { takePage } from "../paging.js";
import { chunkedValueIncomplete, chunkKeys, companionId, decodeManifest } from "./chunk-format.js";

/** Values of one page assembled at a time. */
const READ_AHEAD = 4;
/** Chunk reads of one value run this many backend calls at a time. */
const READ_PARALLELISM = 4;
/** Times a reader follows an item that changed under it before giving up. */
const MAX_FOLLOWS = 3;

/** Bytes an item counts for in page bounds: its key plus its value's real (logical) size. */
export function logicalBytes(item: KvItem): number {
  return item.key.length + (item.chunked ? decodeManifest(item.value).totalBytes : item.value.length);
}

/**
 * Joins the chunked values of backend pages. A reader never races a writer into an error: a
 * writer never deletes chunks, and a chunk set the sweeper removed under a slow reader belonged
 * to a value that has since been replaced, so the reader reads the item again and returns what
 * replaced it (the newer value, whole, or nothing when it was deleted).
 */
export class ChunkReader {
  constructor(
    private readonly backend: KeyValueBackend,
    /** Chunk bytes per backend call. */
    private readonly batchBytes: number,
  ) {}

  /**
   * Completes a page of rows: bounds it by logical bytes, then assembles chunked values (a few
   * at a time, returned in order). Past `softDeadline` (epoch ms) it returns the rows already
   * complete (at least one) with `more: true` and stops the other reads; with none complete it
   * keeps going until `signal` fires. Rows whose item was deleted while being assembled are left
   * out; `last` is the last row looked at, where the next page starts even when `rows` is empty.
   *
   * @example const { rows, more } = await reader.complete("ns", page.rows, page.more, options)
   */
  async complete(
    namespace: string,
    rows: ScanRow[],
    backendMore: boolean,
    options: Pick<PageOptions, "limitItems" | "limitBytes" | "signal"> & { softDeadline?: number },
  ): Promise<{ rows: ScanRow[]; more: boolean; last: ScanRow | undefined }> {
    const { page, more: trimmed } = takePage(rows, (row) => logicalBytes(row.item), options);
    const more = backendMore || trimmed;
    const last = page.at(-1);
    if (!page.some((row) => row.item.chunked)) return { rows: page, more, last };
    const abandon = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, abandon.signal]) : abandon.signal;
    const started: Promise<KvItem | undefined>[] = [];
    const start = (upTo: number) => {
      for (let i = started.length; i < Math.min(upTo, page.length); i++) {
        const { id, item } = page[i]!;
        const assembling = item.chunked ? this.assemble(namespace, id, item, signal) : Promise.resolve(item);
        assembling.catch(() => undefined); // awaited in order below; not unhandled meanwhile
        started.push(assembling);
      }
    };
    const late = options.softDeadline === undefined ? undefined : lateAt(options.softDeadline);
    const done: ScanRow[] = [];
    try {
      for (let i = 0; i < page.length; i++) {
        start(i + READ_AHEAD);
        const item =
          late && done.length > 0 ? await Promise.race([started[i]!, late.promise]) : await started[i]!;
        if (item === "late") return { rows: done, more: true, last: done.at(-1) };
        if (item) done.push({ id: page[i]!.id, item });
      }
      return { rows: done, more, last };
    } finally {
      late?.cancel();
      abandon.abort();
    }
  }

  /**
   * The item with its whole value in place of the manifest; `undefined` when the item was
   * deleted while we read it.
   *
   * @example const item = await reader.assemble("ns", "user-1", manifestItem, signal)
   */
  async assemble(
    namespace: string,
    id: string,
    manifestItem: KvItem,
    signal: AbortSignal | undefined,
  ): Promise<KvItem | undefined> {
    let current = manifestItem;
    for (let follow = 0; follow <= MAX_FOLLOWS; follow++) {
      const value = await this.readChunks(namespace, id, current, signal);
      if (value) return withValue(current, value);
      // The chunks are gone, so the item changed since we read its manifest: read it again.
      const { items } = await this.backend.get(
        namespace,
        id,
        { kind: "keys", keys: [current.key] },
        { limitItems: 1, limitBytes: 1, ...(signal ? { signal } : {}) },
      );
      const again = items[0];
      if (!again?.chunked) return again && withValue(again, again.value);
      if (bytesEqual(again.value, current.value)) break;
      current = again;
    }
    throw chunkedValueIncomplete(namespace);
  }

  /** The value a manifest stands for, or `undefined` when any chunk is missing. */
  private async readChunks(
    namespace: string,
    id: string,
    item: KvItem,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array | undefined> {
    const manifest = decodeManifest(item.value);
    const keys = chunkKeys(item.key, manifest);
    const chunkSize = Math.max(1, Math.ceil(manifest.totalBytes / Math.max(1, manifest.chunkCount)));
    const perCall = Math.max(1, Math.floor(this.batchBytes / chunkSize));
    const groups: Uint8Array[][] = [];
    for (let i = 0; i < keys.length; i += perCall) groups.push(keys.slice(i, i + perCall));
    const parts: (KvItem[] | undefined)[] = new Array(groups.length);
    let next = 0;
    const worker = async () => {
      for (let g = next++; g < groups.length; g = next++) {
        parts[g] = await this.readGroup(namespace, id, groups[g]!, chunkSize, signal);
        if (!parts[g]) return;
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_PARALLELISM, groups.length) }, worker));
    if (signal?.aborted) throw abortError(signal);
    const value = new Uint8Array(manifest.totalBytes);
    let offset = 0;
    for (const part of parts) {
      if (!part) return undefined;
      for (const chunk of part) {
        if (offset + chunk.value.length > value.length) return undefined;
        value.set(chunk.value, offset);
        offset += chunk.value.length;
      }
    }
    return offset === value.length ? value : undefined;
  }

  /** Chunks of `keys` (one backend call unless its page bound splits them); `undefined` when any is missing. */
  private async readGroup(
    namespace: string,
    id: string,
    keys: Uint8Array[],
    chunkSize: number,
    signal: AbortSignal | undefined,
  ): Promise<KvItem[] | undefined> {
    const chunks: KvItem[] = [];
    let after: Uint8Array | undefined;
    for (;;) {
      const page = await this.backend.get(
        namespace,
        companionId(id),
        { kind: "keys", keys },
        {
          limitItems: keys.length,
          limitBytes: keys.length * (chunkSize + keys[0]!.length),
          ...(signal ? { signal } : {}),
          ...(after ? { after } : {}),
        },
      );
      for (const chunk of page.items) {
        if (!bytesEqual(chunk.key, keys[chunks.length]!)) return undefined;
        chunks.push(chunk);
      }
      if (!page.more || page.items.length === 0) break;
      after = page.items.at(-1)!.key;
    }
    return chunks.length === keys.length ? chunks : undefined;
  }
}

/** The item as a caller sees it: its value, its expiry, no manifest flag. */
function withValue(item: KvItem, value: Uint8Array): KvItem {
  const whole: KvItem = { key: item.key, value };
  if (item.expiresAt !== undefined) whole.expiresAt = item.expiresAt;
  return whole;
}

/** A promise of "late" at `deadline` (epoch ms), and how to drop its timer. */
function lateAt(deadline: number): { promise: Promise<"late">; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), Math.max(0, deadline - Date.now()));
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
