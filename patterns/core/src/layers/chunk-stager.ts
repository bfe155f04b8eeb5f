import { PrismError } from "../errors.js";
import type { KeyValueBackend, KvItem } from "../keyvalue.js";
import {
  chunkKeys,
  companionId,
  encodeManifest,
  type Manifest,
  markerKey,
  newVersion,
  sortedUnique,
} from "./chunk-format.js";

/**
 * Chunks of an expiring value outlive its manifest by this much, so a reader that saw the
 * manifest just before it expired still finds them; the backend's expiry removes them later.
 */
export const CHUNK_EXPIRY_SLACK_MS = 10 * 60_000;

/** How a {@link ChunkStager} splits and writes. */
export interface StagerSettings {
  chunkBytes: number;
  maxValueBytes: number;
  batchBytes: number;
  maxStageMs: number;
  onCleanupError: (error: unknown, namespace: string) => void;
}

/** A write's items as stored (manifests in place of large values) and the chunks staged for it. */
export interface Staged {
  items: KvItem[];
  /** Companion keys this write created (markers and chunks); empty when nothing was chunked. */
  companionKeys: Uint8Array[];
  startedAt: number;
}

/**
 * Splits large values and writes their chunks (markers first, in the same calls) to the
 * companion record, in calls of about `batchBytes`. Nothing here deletes another write's chunks.
 */
export class ChunkStager {
  constructor(
    private readonly backend: KeyValueBackend,
    private readonly settings: StagerSettings,
  ) {}

  /**
   * Stages the chunks of `items` above the chunk size; returns the items to write in their place.
   *
   * @example const staged = await stager.stage("ns", "doc-1", items, signal); await kv.put("ns", "doc-1", staged.items, {})
   */
  async stage(namespace: string, id: string, items: KvItem[], signal?: AbortSignal): Promise<Staged> {
    const { maxValueBytes } = this.settings;
    // Read per call: a backend learns its real limit when it connects (NATS max_payload).
    const chunkBytes = Math.max(
      1,
      Math.min(this.settings.chunkBytes, this.backend.capabilities.maxItemValueBytes),
    );
    const startedAt = Date.now();
    const stored: KvItem[] = [];
    const companion: KvItem[] = [];
    for (const item of items) {
      if (item.value.length > maxValueBytes) throw tooLarge(maxValueBytes);
      if (item.value.length <= chunkBytes) {
        stored.push(item.chunked === undefined ? item : plain(item));
        continue;
      }
      const manifest: Manifest = {
        format: 2,
        version: newVersion(startedAt),
        chunkCount: Math.ceil(item.value.length / chunkBytes),
        totalBytes: item.value.length,
      };
      const expiry =
        item.expiresAt === undefined ? {} : { expiresAt: item.expiresAt + CHUNK_EXPIRY_SLACK_MS };
      companion.push({ key: markerKey(item.key, manifest.version), value: new Uint8Array(), ...expiry });
      chunkKeys(item.key, manifest).forEach((key, i) => {
        const value = item.value.subarray(i * chunkBytes, (i + 1) * chunkBytes);
        companion.push({ key, value, ...expiry });
      });
      const manifestItem: KvItem = { key: item.key, value: encodeManifest(manifest), chunked: true };
      if (item.expiresAt !== undefined) manifestItem.expiresAt = item.expiresAt;
      stored.push(manifestItem);
    }
    await this.write(namespace, companionId(id), companion, signal);
    return { items: stored, companionKeys: companion.map((chunk) => chunk.key), startedAt };
  }

  /**
   * Throws DeadlineExceeded when the chunks took so long to stage that the sweeper could take
   * them for abandoned; the write must then not switch its manifest to them.
   */
  checkFresh(staged: Staged): void {
    if (staged.companionKeys.length === 0 || Date.now() - staged.startedAt <= this.settings.maxStageMs)
      return;
    throw new PrismError("DeadlineExceeded", "storing a large value took too long", {
      reason: "CHUNK_STAGING_TOO_SLOW",
    });
  }

  /** Removes a write's own chunks (one call), best effort: after a replay, nothing references them. */
  async discard(namespace: string, id: string, staged: Staged): Promise<void> {
    if (staged.companionKeys.length === 0) return;
    try {
      const keys = sortedUnique(staged.companionKeys);
      await this.backend.delete(namespace, companionId(id), { kind: "keys", keys }, {});
    } catch (error) {
      this.settings.onCleanupError(error, namespace);
    }
  }

  /** Puts `items` in calls of at most `batchBytes` (and at least one item). */
  private async write(namespace: string, id: string, items: KvItem[], signal?: AbortSignal): Promise<void> {
    const options = signal ? { signal } : {};
    let batch: KvItem[] = [];
    let bytes = 0;
    for (const item of items) {
      const size = item.key.length + item.value.length;
      if (batch.length > 0 && bytes + size > this.settings.batchBytes) {
        await this.backend.put(namespace, id, batch, options);
        batch = [];
        bytes = 0;
      }
      batch.push(item);
      bytes += size;
    }
    if (batch.length > 0) await this.backend.put(namespace, id, batch, options);
  }
}

function plain(item: KvItem): KvItem {
  const copy: KvItem = { key: item.key, value: item.value };
  if (item.expiresAt !== undefined) copy.expiresAt = item.expiresAt;
  return copy;
}

function tooLarge(maxValueBytes: number): PrismError {
  return new PrismError("InvalidArgument", "value is larger than this namespace stores", {
    reason: "VALUE_TOO_LARGE",
    field: "value",
    metadata: { max_bytes: String(maxValueBytes) },
  });
}
