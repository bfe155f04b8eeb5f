import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type KeyValueBackend,
  type KvItem,
  type KvMutation,
  type ScanPosition,
  unsupported,
} from "@prism/core";
import {
  type DeleteRequest,
  type DeleteResponse,
  DeleteResponseSchema,
  type GetRequest,
  type GetResponse,
  type Item,
  type KeyValueService as KeyValueServiceDesc,
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
import type { NamespacedContext } from "../../context.js";
import { valueCall } from "../../pii/namespace-values.js";
import { itemsFromStorage, itemsToStorage } from "../../pii/pattern-values.js";
import type { PatternPolicy } from "../../pipeline/serve.js";
import { lastPer } from "../last-per.js";
import { softDeadline } from "../soft-deadline.js";
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

/** Routing of KeyValue calls: which methods read and which write a namespace's data. */
export const KEYVALUE_POLICY: PatternPolicy<(typeof KeyValueServiceDesc)["method"]> = {
  pattern: "keyvalue",
  access: { put: "write", get: "read", delete: "write", mutate: "write", scan: "read" },
};

/**
 * prism.keyvalue.v1.KeyValueService: validates requests, pages and tokens. Calls arrive resolved
 * by the pipeline (namespace, access, limits, deadline); data goes to `binding.keyvalue`, a stack
 * of layers (chunking of large values, later shadow traffic) over the namespace's backends.
 */
export class KeyValueService {
  constructor(private readonly settings: KeyValueSettings) {}

  async put(request: PutRequest, ctx: NamespacedContext): Promise<PutResponse> {
    const { kv, name, maxValueBytes } = target(ctx);
    checkId(request.id, this.settings);
    if (request.items.length === 0) throw invalid("items", "must hold at least one item", "ITEMS_REQUIRED");
    this.checkCount(request.items.length, "items");
    const now = Date.now();
    let items = lastPer(request.items, keyOf).map((item, i) =>
      checkItem(item, `items[${i}]`, this.settings, maxValueBytes, now),
    );
    requireTtl(ctx, items);
    const values = ctx.namespace.values;
    if (values) items = await itemsToStorage(values, request.id, items, valueCall(ctx));
    const result = await kv.put(name, request.id, items, {
      signal: ctx.signal,
      idempotencyKey: idempotencyKey(request.idempotencyToken),
    });
    return create(PutResponseSchema, { replayed: result.replayed });
  }

  async get(request: GetRequest, ctx: NamespacedContext): Promise<GetResponse> {
    const { kv, name } = target(ctx);
    checkId(request.id, this.settings);
    const predicate = toPredicate(request.predicate, this.settings);
    const limits = pageLimits(request.pageSizeBytes, request.pageSizeItems, this.settings);
    const after = request.pageToken
      ? decodePageToken(request.pageToken, name, request.id, predicate)
      : undefined;
    const page = await kv.get(name, request.id, predicate, {
      signal: ctx.signal,
      softDeadline: softDeadline(ctx.deadline),
      limitItems: limits.limitItems,
      limitBytes: limits.limitBytes,
      after,
    });
    const last = page.items.at(-1);
    const response: GetResponse = {
      $typeName: "prism.keyvalue.v1.GetResponse",
      items: page.items.map(toMessage),
      nextPageToken: page.more && last ? encodePageToken(name, request.id, predicate, last.key) : "",
    };
    const values = ctx.namespace.values;
    if (values) await itemsFromStorage(values, request.id, response.items, valueCall(ctx));
    return response;
  }

  async delete(request: DeleteRequest, ctx: NamespacedContext): Promise<DeleteResponse> {
    const { kv, name } = target(ctx);
    checkId(request.id, this.settings);
    const predicate = toPredicate(request.predicate, this.settings);
    const result = await kv.delete(name, request.id, predicate, {
      signal: ctx.signal,
      idempotencyKey: idempotencyKey(request.idempotencyToken),
    });
    return create(DeleteResponseSchema, { replayed: result.replayed });
  }

  async mutate(request: MutateRequest, ctx: NamespacedContext): Promise<MutateResponse> {
    const { kv, name, maxValueBytes } = target(ctx);
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
    requireTtl(
      ctx,
      mutations.flatMap((m) => (m.op === "put" ? [m.item] : [])),
    );
    const values = ctx.namespace.values;
    if (values) {
      const call = valueCall(ctx);
      for (const mutation of mutations) {
        if (mutation.op !== "put") continue;
        mutation.item = (await itemsToStorage(values, request.id, [mutation.item], call))[0]!;
      }
    }
    const result = await kv.mutate(name, request.id, mutations, {
      signal: ctx.signal,
      idempotencyKey: idempotencyKey(request.idempotencyToken),
    });
    return create(MutateResponseSchema, { replayed: result.replayed, atomic: result.atomic });
  }

  /**
   * Streams every record of the namespace, one message per record (or per `page_size_bytes` of
   * it). When the deadline nears, ends early with a `truncated` message whose cursor resumes.
   */
  async *scan(request: ScanRequest, ctx: NamespacedContext): AsyncIterable<ScanResponse> {
    const { kv, name } = target(ctx);
    const { limitBytes } = pageLimits(request.pageSizeBytes, 0, this.settings);
    const values = ctx.namespace.values;
    const call = values && valueCall(ctx);
    const shown = async (message: ScanResponse) => {
      await itemsFromStorage(values!, message.id, message.items, call!);
      return message;
    };
    const answerBy = softDeadline(ctx.deadline);
    let after: ScanPosition | undefined = request.cursor ? decodeScanCursor(request.cursor) : undefined;
    let batch: { id: string; items: KvItem[]; bytes: number } | undefined;
    const take = () => {
      const taken = batch!;
      batch = undefined;
      const last = taken.items.at(-1)!;
      return create(ScanResponseSchema, {
        id: taken.id,
        items: taken.items.map(toMessage),
        cursor: encodeScanCursor(taken.id, last.key),
      });
    };
    // How long the last backend page took: the next one is not started when it would likely end
    // after `answerBy`, since a page that overruns it leaves the margin too short to answer.
    let pageMs = 0;
    for (;;) {
      const started = Date.now();
      const page = await kv.scan(name, {
        signal: ctx.signal,
        softDeadline: answerBy,
        ...SCAN_BATCH,
        after,
      });
      pageMs = Date.now() - started;
      for (const { id, item } of page.rows) {
        const size = item.key.length + item.value.length;
        if (batch && (batch.id !== id || batch.bytes + size > limitBytes)) {
          yield values ? await shown(take()) : take();
        }
        batch ??= { id, items: [], bytes: 0 };
        batch.items.push(item);
        batch.bytes += size;
        after = { id, key: item.key };
      }
      if (!page.more || page.rows.length === 0) break;
      if (Date.now() + pageMs >= answerBy) {
        const message = batch
          ? values
            ? await shown(take())
            : take()
          : create(ScanResponseSchema, { cursor: encodeScanCursor(after!.id, after!.key) });
        message.truncated = true;
        yield message;
        return;
      }
    }
    if (batch) yield values ? await shown(take()) : take();
  }

  private checkCount(count: number, field: string): void {
    if (count > this.settings.maxItemsPerRequest) {
      throw invalid(field, `at most ${this.settings.maxItemsPerRequest} per request`, "TOO_MANY_ITEMS");
    }
  }
}

function target(ctx: NamespacedContext): { kv: KeyValueBackend; name: string; maxValueBytes: number } {
  const { binding, spec, maxValueBytes } = ctx.namespace;
  return { kv: binding.keyvalue, name: spec.name, maxValueBytes };
}

/** Rejects TTLs up front on a backend without them, before anything is written. */
function requireTtl(ctx: NamespacedContext, items: KvItem[]): void {
  const { binding } = ctx.namespace;
  if (!binding.keyvalue.capabilities.ttl && items.some((item) => item.expiresAt !== undefined)) {
    throw unsupported(binding.primary.type, "keyvalue.ttl");
  }
}

/**
 * The wire item. Built as a literal (protobuf-es messages are plain objects) rather than with
 * `create`, which walks the schema to fill defaults: this runs for every item of every read.
 */
function toMessage(item: KvItem): Item {
  return {
    $typeName: "prism.keyvalue.v1.Item",
    key: item.key,
    value: item.value,
    ttl: undefined,
    expireTime: item.expiresAt === undefined ? undefined : timestampFromMs(item.expiresAt),
  };
}

/** An item key as a Map key (latin1 keeps every byte distinct). */
function keyOf(item: Item): string {
  return Buffer.from(item.key.buffer, item.key.byteOffset, item.key.byteLength).toString("latin1");
}
