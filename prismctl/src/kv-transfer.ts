import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import type { Command } from "commander";
import { idempotencyToken, UsageError, withClient } from "./cli.js";
import { type Call, type CommandKit, wholeNumber } from "./command-kit.js";
import { failureOf } from "./errors.js";
import { scan } from "./kv-commands.js";
import { itemLine, parseLine } from "./kv-lines.js";
import { count, duration, liveLine, progressLine } from "./progress-bar.js";

const DEFAULT_CONCURRENCY = 16;
/** Bad lines reported one by one; past this only counted. */
const MAX_REPORTED = 100;
/** How often the live line is redrawn. */
const REDRAW_MS = 100;
/** Failures that are the import's, not a line's: every other line would fail the same way. */
const FATAL = new Set([
  "UNAVAILABLE",
  "DEADLINE_EXCEEDED",
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "NOT_FOUND",
  "UNIMPLEMENTED",
  "CANCELLED",
]);

const FORMAT_HELP = `One JSON object a line (blank lines are skipped):
  {"id": "user-1", "value": "hello"}                  the record's flat value (empty key)
  {"id": "user-1", "key": "colour", "value": "blue"}  an item
  {"id": "b", "key_b64": "AAE=", "value_b64": "3q2+7w=="}  bytes that are not UTF-8
  "expire_time": "2026-12-01T00:00:00Z"               optional: the item gets the TTL left`;

/** `kv import` (JSON lines → Put, concurrently) and `kv export` (Scan → JSON lines). */
export function addKvTransferCommands(kv: Command, kit: CommandKit): void {
  kit.namespaced(
    kv
      .command("import")
      .description(
        "Put every item of a JSON-lines file (as kv export writes them), several at a time.\n" +
          "A bad line is reported with its number and counted; the import goes on and exits 1 at the end " +
          "if any line failed. The gateway unreachable or refusing the caller stops it. Progress on " +
          "stderr when it is a terminal; a summary at the end.",
      )
      .option("-f, --file <file>", "the JSON-lines file; - for stdin")
      .option(
        "--concurrency <n>",
        `puts in flight (default ${DEFAULT_CONCURRENCY})`,
        wholeNumber("--concurrency", 1, 256),
      )
      .addHelpText("after", `\n${FORMAT_HELP}`),
    {},
    async (ctx, { namespace, opts }: Call<{ file?: string; concurrency?: number }>) => {
      if (!opts.file) throw new UsageError("-f FILE is required (- for stdin)");
      const file = opts.file;
      const total = file === "-" ? 0 : await countLines(file);
      const input = file === "-" ? process.stdin : createReadStream(file);
      const live = liveLine(ctx.progress);
      const stats = { lines: 0, done: 0, imported: 0, expired: 0, failed: 0 };
      const started = Date.now();
      let shownAt = 0;
      let fatal: unknown;
      const redraw = (force = false) => {
        if (!force && Date.now() - shownAt < REDRAW_MS) return;
        shownAt = Date.now();
        const rate = stats.done / Math.max(0.001, (shownAt - started) / 1000);
        const etaMs = total > 0 && rate > 0 ? ((total - stats.done) / rate) * 1000 : undefined;
        live.show(
          progressLine({
            done: stats.done,
            total,
            unit: "lines",
            rate,
            ...(etaMs !== undefined && { etaMs }),
          }),
        );
      };
      const fail = (line: number, message: string) => {
        stats.failed++;
        if (stats.failed > MAX_REPORTED) return;
        live.clear();
        ctx.err(`line ${line}: ${message}`);
      };
      await withClient(ctx, KeyValueService, async (c) => {
        const inFlight = new Set<Promise<void>>();
        for await (const textLine of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
          const number = ++stats.lines;
          if (fatal !== undefined) break;
          if (textLine.trim() === "") {
            stats.done++;
            continue;
          }
          let parsed: ReturnType<typeof parseLine>;
          try {
            parsed = parseLine(textLine, Date.now());
          } catch (error) {
            fail(number, (error as Error).message);
            stats.done++;
            continue;
          }
          if (parsed === "expired") {
            stats.expired++;
            stats.done++;
            continue;
          }
          while (inFlight.size >= (opts.concurrency ?? DEFAULT_CONCURRENCY)) await Promise.race(inFlight);
          const { id, key, value, ttlMs } = parsed;
          const item = { key, value, ...(ttlMs !== undefined && { ttl: durationFromMs(Math.ceil(ttlMs)) }) };
          const put: Promise<void> = c
            .put({ namespace, id, items: [item], idempotencyToken: idempotencyToken() })
            .then(
              () => {
                stats.imported++;
              },
              (error: unknown) => {
                const failure = failureOf(error);
                if (FATAL.has(failure.status ?? "") || failure.reason === "WRONG_PATTERN") fatal ??= error;
                else fail(number, `${failure.message}${failure.reason ? ` (${failure.reason})` : ""}`);
              },
            )
            .finally(() => {
              stats.done++;
              inFlight.delete(put);
              redraw();
            });
          inFlight.add(put);
        }
        await Promise.all(inFlight);
      });
      live.clear();
      const elapsed = duration(Date.now() - started);
      const skipped = stats.expired > 0 ? `, ${count(stats.expired)} expired skipped` : "";
      const summary = `imported ${count(stats.imported)} items from ${count(stats.lines)} lines into ${namespace} in ${elapsed}${skipped}, ${count(stats.failed)} failed`;
      if (fatal !== undefined) {
        ctx.err(summary);
        throw fatal;
      }
      if (stats.failed > MAX_REPORTED) ctx.err(`… and ${count(stats.failed - MAX_REPORTED)} more bad lines`);
      const { done: _, ...counts } = stats;
      ctx.print.document({ namespace, ...counts }, () => summary);
      if (stats.failed > 0) throw new Error(`${count(stats.failed)} of ${count(stats.lines)} lines failed`);
    },
  );

  kit.namespaced(
    kv
      .command("export")
      .description(
        "Every item of the namespace as JSON lines on stdout, the format of kv import.\n" +
          "-o does not apply. Round trip: prismctl kv export NS > ns.jsonl; prismctl kv import OTHER -f ns.jsonl",
      )
      .addHelpText("after", `\n${FORMAT_HELP}`),
    {},
    async (ctx, { namespace }: Call<object>) => {
      // A terminal showing the lines themselves gets no live line between them.
      const live = liveLine(process.stdout.isTTY ? { write: () => undefined } : ctx.progress);
      let records = 0;
      let items = 0;
      let last = "";
      let shownAt = 0;
      await withClient(ctx, KeyValueService, async (c) => {
        for await (const message of scan(c, namespace, "", 0)) {
          if (message.id !== last) records++;
          last = message.id;
          for (const item of message.items) ctx.out(JSON.stringify(itemLine(message.id, item)));
          items += message.items.length;
          if (Date.now() - shownAt >= REDRAW_MS) {
            shownAt = Date.now();
            live.show(`${count(records)} records exported`);
          }
        }
      });
      live.clear();
      ctx.err(`exported ${count(records)} records (${count(items)} items) from ${namespace}`);
    },
  );
}

/** Lines in `file` (a last line without a newline counts), for the progress total. */
async function countLines(file: string): Promise<number> {
  let lines = 0;
  let last = 10;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
  }
  return last === 10 ? lines : lines + 1;
}
