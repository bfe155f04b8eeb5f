import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type KeyValueBackend, type KvItem, type KvMutation, unsupported } from "@prism/core";
import {
  type DeleteRequest,
  type DeleteResponse,
  DeleteResponseSchema,
  type GetRequest,
  type GetResponse,
  GetResponseSchema,
  type Item,
  ItemSchema,
  type MutateRequest,
  type MutateResponse,
  MutateResponseSchema,
  type PutRequest,
  type PutResponse,
  PutResponseSchema,
  type ScanRequest,
  type ScanResponse,
  ScanResponseSchema,
} from "@prism/proto/prism/keyvalue/v1/keyvalue";
import type { KeyValueSettings } from "../../config/gateway-config.js";
import type { RequestContext } from "../../context.js";
import type { Send } from "../../grpc/handlers.js";
import type { NamespaceRegistry } from "../../registry/namespace-registry.js";
import { ChunkJanitor, type ChunkWrite, chunkOutcomes } from "./chunk-janitor.js";
import { assembleValue, isHiddenId, manifestSize, splitItem } from "./chunking.js";
import { decodePageToken, decodeScanCursor, encodePageToken, encodeScanCursor } from "./page-token.js";
import {
  checkId,
  checkItem,
  checkKeySet,
  checkRange,
  idempotencyKey,
  invalid,
  pageLimits,
  toPredicate,
} from "./validate.js";

/** Backend pages a scan reads at a time. */
const SCAN_BATCH = { limitItems: 1000, limitBytes: 4 << 20 } as const;
/** Sorts after every chunk key, to skip the rest of a hidden record in a scan. */
const AFTER_ALL_KEYS = new Uint8Array(8192).fill(0xff);

/**
 * prism.keyvalue.v1.KeyValueService: validates requests, resolves the namespace's binding, splits
 * and joins large values, pages and tokens. Backends see only validated, typed calls.
 */
export class KeyValueService {
  private readonly janitor: ChunkJanitor;

  constructor(
    private readonly registry: NamespaceRegistry,
    private readonly settings: KeyValueSettings,
    onCleanupError: (error: unknown, namespace: string) => void,
  ) {
    this.janitor = new ChunkJanitor(onCleanupError);
  }

  async put(request: PutRequest, ctx: RequestContext): Promise<PutResponse> {
    const { name, kv, backendType, maxValueBytes } = this.open(request.namespace, ctx);
    checkId(request.id, this.settings);
    if (request.items.length === 0) throw invalid("items", "must hold at least one item", "ITEMS_REQUIRED");
    this.checkCount(request.items.length, "items");
    const now = Date.now();
    const items = lastPerKey(request.items).map((item, i) =>
      checkItem(item, `items[${i}]`, this.settings, maxValueBytes, now),
    );
    this.requireTtl(kv, items, backendType);
    const { stored, writes } = await this.writeChunks(kv, name, request.id, items, ctx.signal);
    const result = await kv.put(name, request.id, stored, {
      signal: ctx.signal,
      idempotencyKey: idempotencyKey(request.idempotencyToken),
    });
    const outcomes = writes.map((write) => ({ key: write.key, keep: write.writePrefix }));
    await this.janitor.afterWrite(kv, name, request.id, writes, outcomes, result.replayed);
    return create(PutResponseSchema, { replayed: result.replayed });
  }

  async get(request: GetRequest, ctx: RequestContext): Promise<GetResponse> {
    const { name, kv } = this.open(request.namespace, ctx);
    checkId(request.id, this.settings);
    const predicate = toPredicate(request.predicate, this.settings);
    const limits = pageLimits(request.pageSizeBytes, request.pageSizeItems, this.settings);
    const after = request.pageToken ? decodePageToken(request.pageToken, request.id, predicate) : undefined;
    const page = await kv.get(name, request.id, predicate, {
      signal: ctx.signal,
      ...limits,
      ...(after ? { after } : {}),
    });
    // Most pages hold no chunked values: skip the async join (and its promise) for them.
    const { items, truncated } = page.items.some((item) => item.chunked)
      ? await this.joinChunks(kv, name, request.id, page.items, limits.limitBytes, ctx.signal)
      : { items: page.items, truncated: false };
    const last = items.at(-1);
    return create(GetResponseSchema, {
      items: items.map(toMessage),
      nextPageToken: (page.more || truncated) && last ? encodePageToken(request.id, predicate, last.key) : "",
    });
  }

  async delete(request: DeleteRequest, ctx: RequestContext): Promise<DeleteResponse> {
    const { name, kv } = this.open(request.namespace, ctx);
    checkId(request.id, this.settings);
    const predicate = toPredicate(request.predicate, this.settings);
    const chunkedInRange =
      predicate.kind === "range"
        ? await this.janitor.chunkedKeys(kv, name, request.id, predicate, ctx.signal)
        : [];
    const result = await kv.delete(name, request.id, predicate, {
      signal: ctx.signal,
      idempotencyKey: idempotencyKey(request.idempotencyToken),
    });
    if (!result.replayed) await this.janitor.afterDelete(kv, name, request.id, predicate, chunkedInRange);
    return create(DeleteResponseSchema, { replayed: result.replayed });
  }

  async mutate(request: MutateRequest, ctx: RequestContext): Promise<MutateResponse> {
    const { name, kv, backendType, maxValueBytes } = this.open(request.namespace, ctx);
    checkId(request.id, this.settings);
    if (request.mutations.length === 0)
      throw invalid("mutations", "must hold at least one mutation", "MUTATIONS_REQUIRED");
    this.checkCount(request.mutations.length, "mutations");
    const now = Date.now();
    const mutations: KvMutation[] = request.mutations.map((mutation, i) => {
      const field = `mutations[${i}]`;
      switch (mutation.op.case) {
        case "put":
          return {
            op: "put",
            item: checkItem(mutation.op.value, `${field}.put`, this.settings, maxValueBytes, now),
          };
        case "deleteKeys":
          return {
            op: "delete",
            predicate: {
              kind: "keys",
              keys: checkKeySet(mutation.op.value, `${field}.delete_keys`, this.settings),
            },
          };
        case "deleteRange":
          return {
            op: "delete",
            predicate: checkRange(mutation.op.value, `${field}.delete_range`, this.settings),
          };
        default:
          throw invalid(field, "must set put, delete_keys or delete_range", "MUTATION_EMPTY");
      }
    });
    const puts = mutations.flatMap((m) => (m.op === "put" ? [m.item] : []));
    this.requireTtl(kv, puts, backendType);
    const {
      stored,
      writes,
      writeOf: writesByPut,
    } = await this.writeChunks(kv, name, request.id, puts, ctx.signal);
    // Manifests replace large puts, in order.
    let next = 0;
    const withManifests = mutations.map((m) =>
      m.op === "put" ? { op: "put" as const, item: stored[next++]! } : m,
    );
    const chunkedBefore: Uint8Array[] = [];
    for (const m of mutations) {
      if (m.op === "delete" && m.predicate.kind !== "keys") {
        chunkedBefore.push(
          ...(await this.janitor.chunkedKeys(kv, name, request.id, m.predicate, ctx.signal)),
        );
      }
    }
    const result = await kv.mutate(name, request.id, withManifests, {
      signal: ctx.signal,
      idempotencyKey: idempotencyKey(request.idempotencyToken),
    });
    const outcomes = chunkOutcomes(mutations, writesByPut, chunkedBefore);
    await this.janitor.afterWrite(kv, name, request.id, writes, outcomes, result.replayed);
    return create(MutateResponseSchema, { replayed: result.replayed, atomic: result.atomic });
  }

  async scan(request: ScanRequest, ctx: RequestContext, send: Send<ScanResponse>): Promise<void> {
    const { name, kv } = this.open(request.namespace, ctx);
    const { limitBytes } = pageLimits(request.pageSizeBytes, 0, this.settings);
    let after = request.cursor ? decodeScanCursor(request.cursor) : undefined;
    let batch: { id: string; items: KvItem[]; bytes: number } | undefined;
    const flush = async () => {
      if (!batch) return;
      const last = batch.items.at(-1)!;
      await send(
        create(ScanResponseSchema, {
          id: batch.id,
          items: batch.items.map(toMessage),
          cursor: encodeScanCursor(batch.id, last.key),
        }),
      );
      batch = undefined;
    };
    for (;;) {
      const page = await kv.scan(name, { signal: ctx.signal, ...SCAN_BATCH, ...(after ? { after } : {}) });
      for (const { id, item } of page.rows) {
        after = { id, key: item.key };
        if (isHiddenId(id)) {
          after = { id, key: AFTER_ALL_KEYS };
          break;
        }
        const size = item.chunked ? manifestSize(item) : item.key.length + item.value.length;
        if (batch && (batch.id !== id || batch.bytes + size > limitBytes)) await flush();
        const full = item.chunked
          ? { ...item, value: await assembleValue(kv, name, id, item, ctx.signal) }
          : item;
        batch ??= { id, items: [], bytes: 0 };
        batch.items.push(full);
        batch.bytes += size;
      }
      if (!page.more && !(after && isHiddenId(after.id))) break;
      if (page.rows.length === 0) break;
    }
    await flush();
  }

  /** Resolves a namespace for this pattern and records it on the context for logs. */
  private open(namespace: string, ctx: RequestContext) {
    const resolved = this.registry.resolve(namespace, "keyvalue");
    ctx.namespace = namespace;
    return {
      name: namespace,
      kv: resolved.binding.keyvalue,
      backendType: resolved.binding.primary.type,
      maxValueBytes: resolved.maxValueBytes,
    };
  }

  private checkCount(count: number, field: string): void {
    if (count > this.settings.maxItemsPerRequest) {
      throw invalid(field, `at most ${this.settings.maxItemsPerRequest} per request`, "TOO_MANY_ITEMS");
    }
  }

  /** Rejects TTLs up front on a backend without them, before any chunk is written. */
  private requireTtl(kv: KeyValueBackend, items: KvItem[], backendType: string): void {
    if (!kv.capabilities.ttl && items.some((item) => item.expiresAt !== undefined)) {
      throw unsupported(backendType, "keyvalue.ttl");
    }
  }

  /** Stores the chunks of large items; returns the items to write (manifests in place of large ones). */
  private async writeChunks(
    kv: KeyValueBackend,
    namespace: string,
    id: string,
    items: KvItem[],
    signal: AbortSignal,
  ): Promise<{ stored: KvItem[]; writes: ChunkWrite[]; writeOf: (ChunkWrite | undefined)[] }> {
    const chunkBytes = Math.min(this.settings.chunkBytes, kv.capabilities.maxItemValueBytes);
    if (items.every((item) => item.value.length <= chunkBytes))
      return { stored: items, writes: [], writeOf: [] };
    // writeOf[i] is the chunk write of items[i], if it was split.
    const writeOf = items.map((item): ChunkWrite | undefined => {
      if (item.value.length <= chunkBytes) return undefined;
      const split = splitItem(item, chunkBytes);
      return {
        key: item.key,
        writePrefix: split.writePrefix,
        chunks: split.chunks,
        manifest: split.manifest,
      };
    });
    const writes = writeOf.filter((write) => write !== undefined);
    const stored = items.map((item, i) => writeOf[i]?.manifest ?? item);
    await this.janitor.storeChunks(kv, namespace, id, writes, signal);
    return { stored, writes, writeOf };
  }

  /** Replaces manifests with their values, keeping the page within `limitBytes` of real data. */
  private async joinChunks(
    kv: KeyValueBackend,
    namespace: string,
    id: string,
    items: KvItem[],
    limitBytes: number,
    signal: AbortSignal,
  ): Promise<{ items: KvItem[]; truncated: boolean }> {
    const joined: KvItem[] = [];
    let bytes = 0;
    for (const item of items) {
      const size = item.chunked ? manifestSize(item) : item.key.length + item.value.length;
      if (joined.length > 0 && bytes + size > limitBytes) return { items: joined, truncated: true };
      joined.push(
        item.chunked ? { ...item, value: await assembleValue(kv, namespace, id, item, signal) } : item,
      );
      bytes += size;
    }
    return { items: joined, truncated: false };
  }
}

/** Keeps the last item per key, so one Put naming a key twice behaves as "last write wins" everywhere. */
function lastPerKey(items: Item[]): Item[] {
  if (items.length < 2) return items;
  const byKey = new Map<string, Item>();
  for (const item of items) {
    const key = Buffer.from(item.key.buffer, item.key.byteOffset, item.key.byteLength).toString("latin1");
    byKey.delete(key);
    byKey.set(key, item);
  }
  return [...byKey.values()];
}

function toMessage(item: KvItem): Item {
  const message = create(ItemSchema, { key: item.key, value: item.value });
  if (item.expiresAt !== undefined) message.expireTime = timestampFromMs(item.expiresAt);
  return message;
}
