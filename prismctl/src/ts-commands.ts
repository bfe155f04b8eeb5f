import { toJson } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type Event,
  EventSchema,
  Order,
  TimeSeriesService,
} from "@prism/proto/prism/timeseries/v1/timeseries";
import { type CliContext, type Commands, encoder, flag, need, text, UsageError, withClient } from "./cli.js";

/** `ts write|read|tail`. */
export const TS_COMMANDS: Commands = {
  "ts write": {
    usage: "ts write NAMESPACE SERIES PAYLOAD [--id ID] [--time TIME] [--tag K=V]… [--async]",
    async run(ctx, args) {
      const [namespace, series, payload] = need(args, 3, this.usage);
      const time = flag(args, "--time");
      const event = {
        eventTime: timestampFromMs(time === undefined ? Date.now() : parseTime(time, this.usage)),
        eventId: flag(args, "--id") ?? crypto.randomUUID(),
        payload: encoder.encode(payload!),
        tags: tags(args, this.usage),
      };
      const result = await withClient(ctx, TimeSeriesService, (ts) =>
        ts.write({
          namespace: namespace!,
          seriesId: series!,
          events: [event],
          async: args.includes("--async"),
        }),
      );
      ctx.out(
        args.includes("--async") ? "accepted" : `written ${result.written}, duplicates ${result.duplicates}`,
      );
    },
  },
  "ts read": {
    usage: "ts read NAMESPACE SERIES [--start TIME] [--end TIME] [--desc] [--tag K=V]… [--limit N] [-o json]",
    async run(ctx, args) {
      const [namespace, series] = need(args, 2, this.usage);
      const start = flag(args, "--start");
      const end = flag(args, "--end");
      const limit = flag(args, "--limit");
      let left = limit === undefined ? Number.POSITIVE_INFINITY : Number(limit);
      if (!(left > 0)) throw new UsageError(this.usage);
      const print = printer(ctx, args);
      await withClient(ctx, TimeSeriesService, async (ts) => {
        let pageToken = "";
        do {
          const page = await ts.read({
            namespace: namespace!,
            seriesId: series!,
            ...(start !== undefined && { start: timestampFromMs(parseTime(start, this.usage)) }),
            ...(end !== undefined && { end: timestampFromMs(parseTime(end, this.usage)) }),
            order: args.includes("--desc") ? Order.DESCENDING : Order.ASCENDING,
            tagFilter: tags(args, this.usage),
            pageSizeEvents: Math.min(left, 1000),
            pageToken,
          });
          for (const event of page.events.slice(0, left)) print(event);
          left -= page.events.length;
          pageToken = page.nextPageToken;
        } while (pageToken && left > 0);
      });
    },
  },
  "ts tail": {
    usage: "ts tail NAMESPACE SERIES [--start TIME] [--tag K=V]… [-o json]   (until Ctrl-C)",
    async run(ctx, args) {
      const [namespace, series] = need(args, 2, this.usage);
      const start = flag(args, "--start");
      const print = printer(ctx, args);
      const stop = new AbortController();
      const interrupt = () => stop.abort();
      process.once("SIGINT", interrupt);
      process.once("SIGTERM", interrupt);
      try {
        await withClient(ctx, TimeSeriesService, async (ts) => {
          const stream = ts.tail(
            {
              namespace: namespace!,
              seriesId: series!,
              ...(start !== undefined && { start: timestampFromMs(parseTime(start, this.usage)) }),
              tagFilter: tags(args, this.usage),
            },
            { signal: stop.signal },
          );
          for await (const message of stream) for (const event of message.events) print(event);
        });
      } catch (error) {
        if (!stop.signal.aborted) throw error; // Ctrl-C is how a tail ends
      } finally {
        process.off("SIGINT", interrupt);
        process.off("SIGTERM", interrupt);
      }
    },
  },
};

/** `TIME`: ISO 8601 (`2026-11-30T10:00:00Z`), epoch milliseconds, `now`, or relative to now (`-15m`, `-2h`, `-1d`). */
export function parseTime(text: string, usage: string): number {
  if (text === "now") return Date.now();
  const relative = /^-(\d+)(s|m|h|d)$/.exec(text);
  if (relative) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as "s" | "m" | "h" | "d"];
    return Date.now() - Number(relative[1]) * unit;
  }
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms))
    throw new UsageError(`${usage}\n  TIME: ISO 8601, epoch ms, now, or -15m/-2h/-1d`);
  return ms;
}

/** Every `--tag K=V`. */
function tags(args: string[], usage: string): Record<string, string> {
  const result: Record<string, string> = {};
  args.forEach((arg, i) => {
    if (arg !== "--tag") return;
    const pair = args[i + 1] ?? "";
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(usage);
    result[pair.slice(0, at)] = pair.slice(at + 1);
  });
  return result;
}

/** Prints events as `TIME<TAB>ID<TAB>PAYLOAD<TAB>K=V,…`, or with `-o json` one JSON object per line. */
function printer(ctx: CliContext, args: string[]): (event: Event) => void {
  if (flag(args, "-o") === "json") return (event) => ctx.out(JSON.stringify(toJson(EventSchema, event)));
  return (event) => {
    const time = event.eventTime ? timestampDate(event.eventTime).toISOString() : "";
    const tagText = Object.entries(event.tags)
      .map(([key, value]) => `${key}=${value}`)
      .join(",");
    ctx.out(`${time}\t${event.eventId}\t${text(event.payload)}\t${tagText}`);
  };
}
