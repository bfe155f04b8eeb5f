import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { PromiseClient } from "@prism/proto/grpc";
import { KeyValueService, type ScanResponse } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import type { Command } from "commander";
import { encoder, idempotencyToken, text, UsageError, withClient } from "./cli.js";
import { type Call, type CommandKit, collect, wholeNumber } from "./command-kit.js";
import { itemLine } from "./kv-lines.js";
import { parseDuration } from "./time.js";

type Kv = PromiseClient<typeof KeyValueService.method>;
type Range = { start: Uint8Array; end: Uint8Array };
type Selection = { key?: string[]; range?: Range };
/** A mutation option as given, numbered so that the mutations keep the command line's order. */
type Step = { at: number; value: string };

const ITEMS_HELP = "Items print as KEY<TAB>VALUE (the flat value alone); with -o json, one object a line.";
const RANGE_HELP = "keys in [FROM, TO): FROM.. (to the end), ..TO, FROM..TO";
let steps = 0;
const step = (value: string, previous: Step[] | undefined): Step[] => [
  ...(previous ?? []),
  { at: steps++, value },
];

/** `kv put|get|delete|mutate|scan`; returns `kv`, where kv-transfer.ts adds `import` and `export`. */
export function addKvCommands(root: Command, kit: CommandKit): Command {
  const kv = root
    .command("kv")
    .description("KeyValue: records (ID) of items, KEY → VALUE; the empty key is the record's flat value");

  kit.namespaced(
    kv
      .command("put")
      .description("Write one item of a record (upsert).")
      .option("--key <key>", "the item's key (default: the empty key, the flat value)")
      .option("--ttl <duration>", "the item expires after this long: 30s, 15m, 2h, 7d", parseDuration),
    { ID: "the record id", VALUE: "the value, UTF-8 text" },
    async (ctx, { namespace, args: [id, value], opts }: Call<{ key?: string; ttl?: number }>) => {
      const item = {
        key: encoder.encode(opts.key ?? ""),
        value: encoder.encode(value!),
        ...(opts.ttl && { ttl: durationFromMs(opts.ttl) }),
      };
      const result = await withClient(ctx, KeyValueService, (c) =>
        c.put({ namespace, id: id!, items: [item], idempotencyToken: idempotencyToken() }),
      );
      ctx.print.document({ replayed: result.replayed }, () => "ok");
    },
  );

  kit.namespaced(
    selection(kv.command("get"))
      .description(`Read a record's items in key order, every page.\n${ITEMS_HELP}`)
      .option("--page-size <n>", "items per page (default: the gateway's)", wholeNumber("--page-size", 1))
      .option("--page-token <token>", "start at this page (printed by --one-page)")
      .option("--one-page", "read one page; print the next page's token on stderr"),
    { ID: "the record id" },
    async (ctx, { namespace, args: [id], opts }: Call<Selection & GetOptions>) => {
      const predicate = predicateOf(opts);
      await withClient(ctx, KeyValueService, async (c) => {
        let pageToken = opts.pageToken ?? "";
        do {
          const page = await c.get({
            namespace,
            id: id!,
            predicate,
            pageSizeItems: opts.pageSize ?? 0,
            pageToken,
          });
          for (const item of page.items) {
            ctx.print.item(itemLine(undefined, item), () =>
              item.key.length === 0 ? text(item.value) : `${text(item.key)}\t${text(item.value)}`,
            );
          }
          pageToken = page.nextPageToken;
          if (opts.onePage) {
            if (pageToken) ctx.err(`next page: --page-token ${pageToken}`);
            return;
          }
        } while (pageToken);
      });
    },
  );

  kit.namespaced(
    selection(kv.command("delete"))
      .alias("del")
      .description("Delete a whole record, or only some of its keys (--key) or a key range (--range)."),
    { ID: "the record id" },
    async (ctx, { namespace, args: [id], opts }: Call<Selection>) => {
      const result = await withClient(ctx, KeyValueService, (c) =>
        c.delete({ namespace, id: id!, predicate: predicateOf(opts), idempotencyToken: idempotencyToken() }),
      );
      ctx.print.document({ replayed: result.replayed }, () => "ok");
    },
  );

  kit.namespaced(
    kv
      .command("mutate")
      .description(
        "Apply puts and deletes to one record, in the order given.\n" +
          "Atomically where the backend can (the answer says). A --put's key ends at its first '='; " +
          "--put =VALUE writes the flat value.",
      )
      .option("--put <key=value>", "put an item (repeatable)", step)
      .option("--delete-key <key>", "delete an item (repeatable)", step)
      .option("--delete-range <from..to>", `delete ${RANGE_HELP} (repeatable)`, step)
      .option("--ttl <duration>", "the put items expire after this long", parseDuration),
    { ID: "the record id" },
    async (ctx, { namespace, args: [id], opts }: Call<MutateOptions>) => {
      const mutations = mutationsOf(opts);
      const result = await withClient(ctx, KeyValueService, (c) =>
        c.mutate({ namespace, id: id!, mutations, idempotencyToken: idempotencyToken() }),
      );
      const how = result.atomic ? "atomically" : "one by one (the backend cannot apply them atomically)";
      ctx.print.document({ replayed: result.replayed, atomic: result.atomic }, () => `ok: ${how}`);
    },
  );

  kit.namespaced(
    kv
      .command("scan")
      .description(
        "Every record of the namespace, an item a line.\n" +
          "Lines are ID<TAB>KEY<TAB>VALUE (-o json: the objects of kv export). With --limit, the cursor " +
          "to continue from is printed on stderr.",
      )
      .option("--cursor <cursor>", "continue after this cursor")
      .option("--limit <n>", "stop after this many records", wholeNumber("--limit", 1))
      .option(
        "--page-bytes <n>",
        "bytes per streamed message (default: the gateway's)",
        wholeNumber("--page-bytes", 1),
      ),
    {},
    async (ctx, { namespace, opts }: Call<{ cursor?: string; limit?: number; pageBytes?: number }>) => {
      await withClient(ctx, KeyValueService, async (c) => {
        let records = 0;
        let last: ScanResponse | undefined;
        for await (const message of scan(c, namespace, opts.cursor ?? "", opts.pageBytes ?? 0)) {
          const fresh = message.id !== last?.id;
          if (fresh && records === opts.limit) {
            ctx.err(`next cursor: --cursor ${last!.cursor}`);
            return;
          }
          if (fresh) records++;
          last = message;
          for (const item of message.items) {
            ctx.print.item(
              itemLine(message.id, item),
              () => `${message.id}\t${text(item.key)}\t${text(item.value)}`,
            );
          }
        }
      });
    },
  );
  return kv;
}

/**
 * Every message of a Scan from `cursor`; a stream the gateway ended early (`truncated`, to
 * answer within its deadline) is resumed from its last cursor.
 *
 * @example for await (const m of scan(kv, "demo-kv", "", 0, signal)) …
 */
export async function* scan(
  kv: Kv,
  namespace: string,
  cursor: string,
  pageSizeBytes: number,
  signal?: AbortSignal,
): AsyncGenerator<ScanResponse> {
  let from = cursor;
  for (;;) {
    let truncated = false;
    for await (const message of kv.scan(
      { namespace, cursor: from, pageSizeBytes },
      { ...(signal && { signal }) },
    )) {
      if (message.items.length > 0) yield message;
      from = message.cursor;
      truncated = message.truncated;
    }
    if (!truncated) return;
  }
}

type GetOptions = { pageSize?: number; pageToken?: string; onePage?: boolean };
type MutateOptions = { put?: Step[]; deleteKey?: Step[]; deleteRange?: Step[]; ttl?: number };

function selection(cmd: Command): Command {
  return cmd
    .option("--key <key>", "only this key (repeatable)", collect)
    .option("--range <from..to>", `only ${RANGE_HELP}`, parseRange);
}

function predicateOf(opts: Selection) {
  if (opts.key && opts.range) throw new UsageError("--key and --range exclude each other");
  if (opts.key) return { case: "keys" as const, value: { keys: opts.key.map((key) => encoder.encode(key)) } };
  if (opts.range) return { case: "range" as const, value: opts.range };
  return { case: undefined };
}

function parseRange(textValue: string): Range {
  const at = textValue.indexOf("..");
  if (at < 0) throw new UsageError(`a range is FROM..TO, FROM.. or ..TO (not ${JSON.stringify(textValue)})`);
  return { start: encoder.encode(textValue.slice(0, at)), end: encoder.encode(textValue.slice(at + 2)) };
}

/** The mutations of `kv mutate`, in command-line order. */
function mutationsOf(opts: MutateOptions) {
  const all = [
    ...(opts.put ?? []).map((s) => ({ ...s, kind: "put" as const })),
    ...(opts.deleteKey ?? []).map((s) => ({ ...s, kind: "deleteKeys" as const })),
    ...(opts.deleteRange ?? []).map((s) => ({ ...s, kind: "deleteRange" as const })),
  ].sort((a, b) => a.at - b.at);
  if (all.length === 0) throw new UsageError("no mutations: give --put, --delete-key or --delete-range");
  return all.map((s) => mutation(s.kind, s.value, opts.ttl));
}

function mutation(kind: "put" | "deleteKeys" | "deleteRange", value: string, ttl: number | undefined) {
  if (kind === "deleteKeys") return { op: { case: kind, value: { keys: [encoder.encode(value)] } } };
  if (kind === "deleteRange") return { op: { case: kind, value: parseRange(value) } };
  const at = value.indexOf("=");
  if (at < 0) throw new UsageError(`--put ${JSON.stringify(value)}: KEY=VALUE (=VALUE for the flat value)`);
  const item = {
    key: encoder.encode(value.slice(0, at)),
    value: encoder.encode(value.slice(at + 1)),
    ...(ttl && { ttl: durationFromMs(ttl) }),
  };
  return { op: { case: kind, value: item } };
}
