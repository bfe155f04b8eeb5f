import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type Event,
  EventSchema,
  Order,
  TimeSeriesService,
} from "@prism/proto/prism/timeseries/v1/timeseries";
import type { Command } from "commander";
import { type CliContext, encoder, text, UsageError, untilInterrupted, withClient } from "./cli.js";
import { type Call, type CommandKit, collect, wholeNumber } from "./command-kit.js";
import { protoJson } from "./output.js";
import { parseTime } from "./time.js";

const TIME_HELP = "TIME: ISO 8601, epoch ms, now, or relative: -15m, -2h, -1d";
const EVENTS_HELP = "Events print as TIME<TAB>ID<TAB>PAYLOAD<TAB>K=V,…; with -o json, one object a line.";

type TagOption = { tag?: string[] };

/** `ts write|read|tail`. */
export function addTsCommands(root: Command, kit: CommandKit): void {
  const ts = root.command("ts").description("TimeSeries: events (time, id, payload, tags) in series");

  kit.namespaced(
    tagged(ts.command("write"))
      .description("Write one event; a second write of the same time and id is a duplicate.")
      .option("--id <id>", "the event id (default: a random UUID)")
      .option("--time <time>", `the event time (default: now); ${TIME_HELP}`, parseTime)
      .option("--async", "return once the gateway accepted it, before the backend stored it"),
    { SERIES: "the series id", PAYLOAD: "the payload, UTF-8 text" },
    async (ctx, call: Call<TagOption & { id?: string; time?: number; async?: boolean }>) => {
      const { namespace, args, opts } = call;
      const event = {
        eventTime: timestampFromMs(opts.time ?? Date.now()),
        eventId: opts.id ?? crypto.randomUUID(),
        payload: encoder.encode(args[1]!),
        tags: tagsOf(opts),
      };
      const result = await withClient(ctx, TimeSeriesService, (c) =>
        c.write({ namespace, seriesId: args[0]!, events: [event], async: opts.async === true }),
      );
      ctx.print.document(
        { written: result.written, duplicates: result.duplicates, async: opts.async === true },
        () => (opts.async ? "accepted" : `written ${result.written}, duplicates ${result.duplicates}`),
      );
    },
  );

  kit.namespaced(
    tagged(ts.command("read"))
      .description(`Read events in [--start, --end), every page.\n${EVENTS_HELP}`)
      .option("--start <time>", `from this time (inclusive); ${TIME_HELP}`, parseTime)
      .option("--end <time>", "to this time (exclusive; default: now)", parseTime)
      .option("--desc", "newest first")
      .option("--limit <n>", "at most this many events", wholeNumber("--limit", 1)),
    { SERIES: "the series id" },
    async (ctx, call: Call<TagOption & { start?: number; end?: number; desc?: boolean; limit?: number }>) => {
      const { namespace, args, opts } = call;
      let left = opts.limit ?? Number.POSITIVE_INFINITY;
      await withClient(ctx, TimeSeriesService, async (c) => {
        let pageToken = "";
        do {
          const page = await c.read({
            namespace,
            seriesId: args[0]!,
            ...(opts.start !== undefined && { start: timestampFromMs(opts.start) }),
            ...(opts.end !== undefined && { end: timestampFromMs(opts.end) }),
            order: opts.desc ? Order.DESCENDING : Order.ASCENDING,
            tagFilter: tagsOf(opts),
            pageSizeEvents: Math.min(left, 1000),
            pageToken,
          });
          for (const event of page.events.slice(0, left)) printEvent(ctx, event);
          left -= page.events.length;
          pageToken = page.nextPageToken;
        } while (pageToken && left > 0);
      });
    },
  );

  kit.namespaced(
    tagged(ts.command("tail"))
      .description(
        `Catch up from --start, then print events as they are written, until Ctrl-C.\n${EVENTS_HELP}`,
      )
      .option(
        "--start <time>",
        `catch up from this time (default: new events only); ${TIME_HELP}`,
        parseTime,
      ),
    { SERIES: "the series id" },
    async (ctx, { namespace, args, opts }: Call<TagOption & { start?: number }>) => {
      // Ctrl-C is how a tail ends: exit 0.
      await untilInterrupted((signal) =>
        withClient(ctx, TimeSeriesService, async (c) => {
          const stream = c.tail(
            {
              namespace,
              seriesId: args[0]!,
              ...(opts.start !== undefined && { start: timestampFromMs(opts.start) }),
              tagFilter: tagsOf(opts),
            },
            { signal },
          );
          for await (const message of stream) for (const event of message.events) printEvent(ctx, event);
        }),
      );
    },
  );
}

function tagged(cmd: Command): Command {
  return cmd.option("--tag <key=value>", "a tag (repeatable; reads: events carrying every one)", collect);
}

/** Every `--tag K=V`. */
function tagsOf(opts: TagOption): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of opts.tag ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--tag ${JSON.stringify(pair)}: KEY=VALUE`);
    result[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return result;
}

function printEvent(ctx: CliContext, event: Event): void {
  ctx.print.item(protoJson(EventSchema, event), () => {
    const time = event.eventTime ? timestampDate(event.eventTime).toISOString() : "";
    const tagText = Object.entries(event.tags)
      .map(([key, value]) => `${key}=${value}`)
      .join(",");
    return `${time}\t${event.eventId}\t${text(event.payload)}\t${tagText}`;
  });
}
