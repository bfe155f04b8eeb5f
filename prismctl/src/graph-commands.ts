import { toJson } from "@bufbuild/protobuf";
import {
  Direction,
  type Edge,
  EdgeSchema,
  GraphService,
  type Node,
  NodeSchema,
  type Value,
} from "@prism/proto/prism/graph/v1/graph";
import { type Commands, flag, need, repeated, UsageError, withClient } from "./cli.js";

/** `graph upsert-node|upsert-edge|get|neighbors|traverse|path`. */
export const GRAPH_COMMANDS: Commands = {
  "graph upsert-node": {
    usage:
      "graph upsert-node NAMESPACE ID LABEL [--prop K=V] [--int K=N] [--double K=X] [--bool K=true|false]…",
    async run(ctx, args) {
      const [namespace, id, label] = need(args, 3, this.usage);
      const node = { id: id!, label: label!, properties: properties(args, this.usage) };
      const { upserted } = await withClient(ctx, GraphService, (g) =>
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
      const { upserted } = await withClient(ctx, GraphService, (g) =>
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
      const { nodes, missingIds } = await withClient(ctx, GraphService, (g) =>
        g.getNodes({ namespace: namespace!, ids }),
      );
      for (const node of nodes) ctx.out(nodeText(node, args));
      for (const id of missingIds) ctx.out(`${id}	(not found)`);
    },
  },
  "graph neighbors": {
    usage: "graph neighbors NAMESPACE ID [--in | --both] [--label L]… [-o json]",
    async run(ctx, args) {
      const [namespace, nodeId] = need(args, 2, this.usage);
      await withClient(ctx, GraphService, async (g) => {
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
      await withClient(ctx, GraphService, async (g) => {
        const stream = g.traverse({
          namespace: namespace!,
          startId: startId!,
          maxDepth: depth,
          direction: direction(args),
          edgeLabels: repeated(args, "--label"),
          nodeLabels: repeated(args, "--node-label"),
          limit: Number(flag(args, "--limit") ?? 0),
        });
        for await (const { steps } of stream) {
          for (const step of steps) {
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
        }
      });
    },
  },
  "graph path": {
    usage: "graph path NAMESPACE FROM TO [--depth N] [--in | --both] [--label L]…",
    async run(ctx, args) {
      const [namespace, fromId, toId] = need(args, 3, this.usage);
      const path = await withClient(ctx, GraphService, (g) =>
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
};

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
