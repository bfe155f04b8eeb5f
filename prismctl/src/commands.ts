import { readFileSync } from "node:fs";
import { toJson } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createPromiseClient } from "@prism/proto/grpc";
import { AdminService, NamespaceSchema } from "@prism/proto/prism/admin/v1/admin";
import {
  Direction,
  type Edge,
  EdgeSchema,
  GraphService,
  type Node,
  NodeSchema,
  type Value,
} from "@prism/proto/prism/graph/v1/graph";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import {
  type Event,
  EventSchema,
  Order,
  TimeSeriesService,
} from "@prism/proto/prism/timeseries/v1/timeseries";

const encoder = new TextEncoder();

/** Where prismctl sends calls and how it prints. */
export interface CliContext {
  address: string;
  out: (line: string) => void;
}

type Command = (ctx: CliContext, args: string[]) => Promise<void>;

const token = () => ({
  generationTime: { seconds: BigInt(Math.floor(Date.now() / 1000)) },
  token: crypto.randomUUID(),
});

/** Keys and values on the command line are UTF-8 text; the empty key is the flat value. */
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

function need(args: string[], count: number, usage: string): string[] {
  if (args.length < count) throw new UsageError(usage);
  return args;
}

export class UsageError extends Error {}

/** Every command, by its words. */
export const COMMANDS: Record<string, { usage: string; run: Command }> = {
  "kv put": {
    usage: "kv put NAMESPACE ID VALUE [--key KEY]",
    async run(ctx, args) {
      const [namespace, id, value] = need(args, 3, this.usage);
      const key = flag(args, "--key") ?? "";
      await withKv(ctx, (kv) =>
        kv.put({
          namespace: namespace!,
          id: id!,
          items: [{ key: encoder.encode(key), value: encoder.encode(value!) }],
          idempotencyToken: token(),
        }),
      );
      ctx.out("ok");
    },
  },
  "kv get": {
    usage: "kv get NAMESPACE ID",
    async run(ctx, args) {
      const [namespace, id] = need(args, 2, this.usage);
      await withKv(ctx, async (kv) => {
        let pageToken = "";
        do {
          const page = await kv.get({ namespace: namespace!, id: id!, pageToken });
          for (const item of page.items) {
            ctx.out(item.key.length === 0 ? text(item.value) : `${text(item.key)}\t${text(item.value)}`);
          }
          pageToken = page.nextPageToken;
        } while (pageToken);
      });
    },
  },
  "kv delete": {
    usage: "kv delete NAMESPACE ID",
    async run(ctx, args) {
      const [namespace, id] = need(args, 2, this.usage);
      await withKv(ctx, (kv) => kv.delete({ namespace: namespace!, id: id!, idempotencyToken: token() }));
      ctx.out("ok");
    },
  },
  "kv scan": {
    usage: "kv scan NAMESPACE",
    async run(ctx, args) {
      const [namespace] = need(args, 1, this.usage);
      await withKv(ctx, async (kv) => {
        for await (const message of kv.scan({ namespace: namespace! })) {
          for (const item of message.items) ctx.out(`${message.id}\t${text(item.key)}\t${text(item.value)}`);
        }
      });
    },
  },
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
      const result = await withTs(ctx, (ts) =>
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
      await withTs(ctx, async (ts) => {
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
        await withTs(ctx, async (ts) => {
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
  "graph upsert-node": {
    usage:
      "graph upsert-node NAMESPACE ID LABEL [--prop K=V] [--int K=N] [--double K=X] [--bool K=true|false]…",
    async run(ctx, args) {
      const [namespace, id, label] = need(args, 3, this.usage);
      const node = { id: id!, label: label!, properties: properties(args, this.usage) };
      const { upserted } = await withGraph(ctx, (g) =>
        g.upsertNodes({ namespace: namespace!, nodes: [node] }),
      );
      ctx.out(`upserted ${upserted}`);
    },
  },
  "graph upsert-edge": {
    usage: "graph upsert-edge NAMESPACE FROM LABEL TO [--prop K=V] [--int K=N] [--double K=X] [--bool K=…]…",
    async run(ctx, args) {
      const [namespace, fromId, label, toId] = need(args, 4, this.usage);
      const edge = { fromId: fromId!, toId: toId!, label: label!, properties: properties(args, this.usage) };
      const { upserted } = await withGraph(ctx, (g) =>
        g.upsertEdges({ namespace: namespace!, edges: [edge] }),
      );
      ctx.out(`upserted ${upserted}`);
    },
  },
  "graph get": {
    usage: "graph get NAMESPACE ID… [-o json]",
    async run(ctx, args) {
      const [namespace, ...rest] = need(args, 2, this.usage);
      const ids = positionals(rest);
      const { nodes, missingIds } = await withGraph(ctx, (g) => g.getNodes({ namespace: namespace!, ids }));
      for (const node of nodes) ctx.out(nodeText(node, args));
      for (const id of missingIds) ctx.out(`${id}	(not found)`);
    },
  },
  "graph neighbors": {
    usage: "graph neighbors NAMESPACE ID [--in | --both] [--label L]… [-o json]",
    async run(ctx, args) {
      const [namespace, nodeId] = need(args, 2, this.usage);
      await withGraph(ctx, async (g) => {
        let pageToken = "";
        do {
          const page = await g.neighbors({
            namespace: namespace!,
            nodeId: nodeId!,
            direction: direction(args),
            edgeLabels: repeated(args, "--label"),
            pageToken,
          });
          for (const { edge, node } of page.neighbors) {
            ctx.out(
              flag(args, "-o") === "json"
                ? JSON.stringify({ edge: toJson(EdgeSchema, edge!), node: toJson(NodeSchema, node!) })
                : `${edgeText(edge!)}	${nodeText(node!, [])}`,
            );
          }
          pageToken = page.nextPageToken;
        } while (pageToken);
      });
    },
  },
  "graph traverse": {
    usage:
      "graph traverse NAMESPACE ID --depth N [--in | --both] [--label L]… [--node-label L]… [--limit N] [-o json]",
    async run(ctx, args) {
      const [namespace, startId] = need(args, 2, this.usage);
      const depth = Number(flag(args, "--depth"));
      if (!(depth >= 1)) throw new UsageError(this.usage);
      await withGraph(ctx, async (g) => {
        const stream = g.traverse({
          namespace: namespace!,
          startId: startId!,
          maxDepth: depth,
          direction: direction(args),
          edgeLabels: repeated(args, "--label"),
          nodeLabels: repeated(args, "--node-label"),
          limit: Number(flag(args, "--limit") ?? 0),
        });
        for await (const step of stream) {
          ctx.out(
            flag(args, "-o") === "json"
              ? JSON.stringify({
                  depth: step.depth,
                  node: toJson(NodeSchema, step.node!),
                  ...(step.via && { via: toJson(EdgeSchema, step.via) }),
                })
              : `${step.depth}	${nodeText(step.node!, [])}${step.via ? `	via ${edgeText(step.via)}` : ""}`,
          );
        }
      });
    },
  },
  "graph path": {
    usage: "graph path NAMESPACE FROM TO [--depth N] [--in | --both] [--label L]…",
    async run(ctx, args) {
      const [namespace, fromId, toId] = need(args, 3, this.usage);
      const path = await withGraph(ctx, (g) =>
        g.shortestPath({
          namespace: namespace!,
          fromId: fromId!,
          toId: toId!,
          maxDepth: Number(flag(args, "--depth") ?? 0),
          direction: direction(args),
          edgeLabels: repeated(args, "--label"),
        }),
      );
      if (!path.found) {
        ctx.out("no path");
        return;
      }
      ctx.out(
        path.nodes
          .map((node, i) => (i === 0 ? node.id : ` -${path.edges[i - 1]!.label}-> ${node.id}`))
          .join(""),
      );
    },
  },
  "namespace list": {
    usage: "namespace list",
    async run(ctx) {
      await withAdmin(ctx, async (admin) => {
        for (const ns of (await admin.listNamespaces({})).namespaces) {
          ctx.out(`${ns.name}\t${ns.backend}\tv${ns.version}`);
        }
      });
    },
  },
  "namespace get": {
    usage: "namespace get NAME",
    async run(ctx, args) {
      const [name] = need(args, 1, this.usage);
      await withAdmin(ctx, async (admin) => {
        const { namespace } = await admin.getNamespace({ name: name! });
        ctx.out(JSON.stringify(toJson(NamespaceSchema, namespace!), null, 2));
      });
    },
  },
  "namespace apply": {
    usage: "namespace apply -f FILE.yaml [--dry-run]",
    async run(ctx, args) {
      const file = flag(args, "-f");
      if (!file) throw new UsageError(this.usage);
      const yaml = readFileSync(file, "utf8");
      await withAdmin(ctx, async (admin) => {
        const result = await admin.applyNamespace({
          spec: { case: "yaml", value: yaml },
          dryRun: args.includes("--dry-run"),
        });
        const verb = args.includes("--dry-run") ? "valid" : result.created ? "created" : "updated";
        ctx.out(`${result.namespace!.name} ${verb} (v${result.namespace!.version})`);
      });
    },
  },
  "namespace delete": {
    usage: "namespace delete NAME",
    async run(ctx, args) {
      const [name] = need(args, 1, this.usage);
      await withAdmin(ctx, (admin) => admin.deleteNamespace({ name: name! }));
      ctx.out("ok");
    },
  },
  "backend list": {
    usage: "backend list",
    async run(ctx) {
      await withAdmin(ctx, async (admin) => {
        for (const backend of (await admin.listBackends({})).backends) {
          const health = backend.health === 1 ? "SERVING" : `NOT_SERVING ${backend.healthMessage}`;
          ctx.out(`${backend.name}\t${backend.type}\t${health}\t${backend.capabilities.join(",")}`);
        }
      });
    },
  },
};

/** `TIME`: ISO 8601 (`2026-11-30T10:00:00Z`), epoch milliseconds, `now`, or relative to now (`-15m`, `-2h`, `-1d`). */
function parseTime(text: string, usage: string): number {
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

/** Typed properties: `--prop K=V` (string), `--int K=N`, `--double K=X`, `--bool K=true|false`. */
function properties(args: string[], usage: string): Record<string, Value> {
  const result: Record<string, Value> = {};
  const value = (kind: Value["kind"]): Value => ({ $typeName: "prism.graph.v1.Value", kind });
  args.forEach((arg, i) => {
    if (!["--prop", "--int", "--double", "--bool"].includes(arg)) return;
    const pair = args[i + 1] ?? "";
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(usage);
    const [name, text] = [pair.slice(0, at), pair.slice(at + 1)];
    if (arg === "--prop") result[name] = value({ case: "stringValue", value: text });
    else if (arg === "--int") {
      if (!/^-?\d+$/.test(text)) throw new UsageError(usage);
      result[name] = value({ case: "intValue", value: BigInt(text) });
    } else if (arg === "--double") {
      const number = Number(text);
      if (text.trim() === "" || Number.isNaN(number)) throw new UsageError(usage);
      result[name] = value({ case: "doubleValue", value: number });
    } else {
      if (text !== "true" && text !== "false") throw new UsageError(usage);
      result[name] = value({ case: "boolValue", value: text === "true" });
    }
  });
  return result;
}

function direction(args: string[]): Direction {
  return args.includes("--both") ? Direction.BOTH : args.includes("--in") ? Direction.IN : Direction.OUT;
}

/** Every value of a repeatable flag. */
function repeated(args: string[], name: string): string[] {
  return args.flatMap((arg, i) => (arg === name && args[i + 1] !== undefined ? [args[i + 1]!] : []));
}

/** Arguments that are neither flags nor flag values. */
function positionals(args: string[]): string[] {
  const valued = new Set(["-o", "--label", "--node-label", "--depth", "--limit"]);
  return args.filter((arg, i) => !arg.startsWith("-") && !valued.has(args[i - 1] ?? ""));
}

function propertyText(properties: Record<string, Value>): string {
  return Object.entries(properties)
    .map(([name, { kind }]) => {
      const v = kind.value;
      return `${name}=${v instanceof Uint8Array ? Buffer.from(v).toString("base64") : String(v)}`;
    })
    .join(",");
}

function nodeText(node: Node, args: string[]): string {
  if (flag(args, "-o") === "json") return JSON.stringify(toJson(NodeSchema, node));
  return `${node.id}\t${node.label}\t${propertyText(node.properties)}`;
}

function edgeText(edge: Edge): string {
  return `${edge.fromId} -${edge.label}-> ${edge.toId}`;
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

async function withTs<T>(ctx: CliContext, use: (ts: ReturnType<typeof tsClient>) => Promise<T>): Promise<T> {
  const ts = tsClient(ctx);
  try {
    return await use(ts);
  } finally {
    ts.close();
  }
}

async function withGraph<T>(
  ctx: CliContext,
  use: (g: ReturnType<typeof graphClient>) => Promise<T>,
): Promise<T> {
  const graph = graphClient(ctx);
  try {
    return await use(graph);
  } finally {
    graph.close();
  }
}

const graphClient = (ctx: CliContext) => createPromiseClient(GraphService, { address: ctx.address });

const tsClient = (ctx: CliContext) => createPromiseClient(TimeSeriesService, { address: ctx.address });

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function withKv<T>(ctx: CliContext, use: (kv: ReturnType<typeof kvClient>) => Promise<T>): Promise<T> {
  const kv = kvClient(ctx);
  try {
    return await use(kv);
  } finally {
    kv.close();
  }
}

const kvClient = (ctx: CliContext) => createPromiseClient(KeyValueService, { address: ctx.address });
const adminClient = (ctx: CliContext) => createPromiseClient(AdminService, { address: ctx.address });

async function withAdmin<T>(
  ctx: CliContext,
  use: (admin: ReturnType<typeof adminClient>) => Promise<T>,
): Promise<T> {
  const admin = adminClient(ctx);
  try {
    return await use(admin);
  } finally {
    admin.close();
  }
}
