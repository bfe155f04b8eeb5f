import {
  Direction,
  type Edge,
  EdgeSchema,
  GetNodesResponseSchema,
  GraphService,
  type Node,
  NodeSchema,
  ShortestPathResponseSchema,
  type Value,
} from "@prism/proto/prism/graph/v1/graph";
import type { Command } from "commander";
import { idempotencyToken, UsageError, withClient } from "./cli.js";
import { type Call, type CommandKit, collect, wholeNumber } from "./command-kit.js";
import { protoJson } from "./output.js";

type Properties = { prop?: string[]; int?: string[]; double?: string[]; bool?: string[] };
type Walk = { in?: boolean; both?: boolean; label?: string[] };

const NODES_HELP = "Nodes print as ID<TAB>LABEL<TAB>K=V,…; edges as FROM -LABEL-> TO.";

/** `graph upsert-node|upsert-edge|get|delete-node|delete-edge|neighbors|traverse|path`. */
export function addGraphCommands(root: Command, kit: CommandKit): void {
  const graph = root.command("graph").description("Graph: labelled nodes and edges with typed properties");

  kit.namespaced(
    properties(graph.command("upsert-node")).description(
      "Create or replace a node (its properties are replaced).",
    ),
    { ID: "the node id", LABEL: "the node label" },
    async (ctx, { namespace, args: [id, label], opts }: Call<Properties>) => {
      const node = { id: id!, label: label!, properties: propertiesOf(opts) };
      const { upserted } = await withClient(ctx, GraphService, (g) =>
        g.upsertNodes({ namespace, nodes: [node] }),
      );
      ctx.print.document({ upserted }, () => `upserted ${upserted}`);
    },
  );

  kit.namespaced(
    properties(graph.command("upsert-edge")).description(
      "Create or replace the edge FROM -LABEL-> TO (both nodes must exist).",
    ),
    { FROM: "the id of the node it leaves", LABEL: "the edge label", TO: "the id of the node it enters" },
    async (ctx, { namespace, args: [fromId, label, toId], opts }: Call<Properties>) => {
      const edge = { fromId: fromId!, toId: toId!, label: label!, properties: propertiesOf(opts) };
      const { upserted } = await withClient(ctx, GraphService, (g) =>
        g.upsertEdges({ namespace, edges: [edge] }),
      );
      ctx.print.document({ upserted }, () => `upserted ${upserted}`);
    },
  );

  kit.namespaced(
    graph
      .command("get")
      .description(`Read nodes by id; missing ones print as ID<TAB>(not found).\n${NODES_HELP}`),
    { "ID...": "node ids" },
    async (ctx, { namespace, args: ids }: Call<object>) => {
      const found = await withClient(ctx, GraphService, (g) => g.getNodes({ namespace, ids }));
      ctx.print.document(protoJson(GetNodesResponseSchema, found), () => [
        ...found.nodes.map(nodeText),
        ...found.missingIds.map((id) => `${id}\t(not found)`),
      ]);
    },
  );

  kit.namespaced(
    graph.command("delete-node").description("Delete nodes and every edge incident to them."),
    { "ID...": "node ids" },
    async (ctx, { namespace, args: ids }: Call<object>) => {
      const { deleted } = await withClient(ctx, GraphService, (g) =>
        g.deleteNodes({ namespace, ids, idempotencyToken: idempotencyToken() }),
      );
      ctx.print.document({ deleted }, () => `deleted ${deleted}`);
    },
  );

  kit.namespaced(
    graph.command("delete-edge").description("Delete the edge FROM -LABEL-> TO."),
    { FROM: "the id of the node it leaves", LABEL: "the edge label", TO: "the id of the node it enters" },
    async (ctx, { namespace, args: [fromId, label, toId] }: Call<object>) => {
      const { deleted } = await withClient(ctx, GraphService, (g) =>
        g.deleteEdges({
          namespace,
          edges: [{ fromId: fromId!, label: label!, toId: toId! }],
          idempotencyToken: idempotencyToken(),
        }),
      );
      ctx.print.document({ deleted }, () => `deleted ${deleted}`);
    },
  );

  kit.namespaced(
    walk(graph.command("neighbors")).description(
      `One hop from a node, every page.\nEDGE<TAB>NODE lines; -o json: {edge, node} a line. ${NODES_HELP}`,
    ),
    { ID: "the node id" },
    async (ctx, { namespace, args: [nodeId], opts }: Call<Walk>) => {
      await withClient(ctx, GraphService, async (g) => {
        let pageToken = "";
        do {
          const page = await g.neighbors({
            namespace,
            nodeId: nodeId!,
            direction: directionOf(opts),
            edgeLabels: opts.label ?? [],
            pageToken,
          });
          for (const { edge, node } of page.neighbors) {
            ctx.print.item(
              { edge: protoJson(EdgeSchema, edge!), node: protoJson(NodeSchema, node!) },
              () => `${edgeText(edge!)}\t${nodeText(node!)}`,
            );
          }
          pageToken = page.nextPageToken;
        } while (pageToken);
      });
    },
  );

  kit.namespaced(
    walk(graph.command("traverse"))
      .description(
        `Breadth-first from a node, to --depth hops.\nDEPTH<TAB>NODE[<TAB>via EDGE] lines; -o json: a step a line. ${NODES_HELP}`,
      )
      .option("--depth <n>", "how many hops (required; the gateway caps it)", wholeNumber("--depth", 1))
      .option("--node-label <label>", "only nodes with this label (repeatable)", collect)
      .option(
        "--limit <n>",
        "stop after this many nodes (default: the gateway's)",
        wholeNumber("--limit", 1),
      ),
    { ID: "the start node id" },
    async (ctx, call: Call<Walk & { depth?: number; nodeLabel?: string[]; limit?: number }>) => {
      const { namespace, args, opts } = call;
      if (opts.depth === undefined) throw new UsageError("--depth N is required");
      await withClient(ctx, GraphService, async (g) => {
        const stream = g.traverse({
          namespace,
          startId: args[0]!,
          maxDepth: opts.depth,
          direction: directionOf(opts),
          edgeLabels: opts.label ?? [],
          nodeLabels: opts.nodeLabel ?? [],
          limit: opts.limit ?? 0,
        });
        for await (const { steps } of stream) {
          for (const step of steps) {
            const json = {
              depth: step.depth,
              node: protoJson(NodeSchema, step.node!),
              ...(step.via && { via: protoJson(EdgeSchema, step.via) }),
            };
            ctx.print.item(
              json,
              () => `${step.depth}\t${nodeText(step.node!)}${step.via ? `\tvia ${edgeText(step.via)}` : ""}`,
            );
          }
        }
      });
    },
  );

  kit.namespaced(
    walk(graph.command("path"))
      .description("A shortest path between two nodes: ada -knows-> bob -knows-> cy, or 'no path'.")
      .option(
        "--depth <n>",
        "at most this many hops (default: the gateway's cap)",
        wholeNumber("--depth", 1),
      ),
    { FROM: "the start node id", TO: "the end node id" },
    async (ctx, { namespace, args: [fromId, toId], opts }: Call<Walk & { depth?: number }>) => {
      const path = await withClient(ctx, GraphService, (g) =>
        g.shortestPath({
          namespace,
          fromId: fromId!,
          toId: toId!,
          maxDepth: opts.depth ?? 0,
          direction: directionOf(opts),
          edgeLabels: opts.label ?? [],
        }),
      );
      ctx.print.document(protoJson(ShortestPathResponseSchema, path), () =>
        path.found
          ? path.nodes
              .map((node, i) => (i === 0 ? node.id : ` -${path.edges[i - 1]!.label}-> ${node.id}`))
              .join("")
          : "no path",
      );
    },
  );
}

function properties(cmd: Command): Command {
  return cmd
    .option("--prop <key=text>", "a string property (repeatable)", collect)
    .option("--int <key=n>", "an integer property (repeatable)", collect)
    .option("--double <key=x>", "a floating-point property (repeatable)", collect)
    .option("--bool <key=true|false>", "a boolean property (repeatable)", collect);
}

function walk(cmd: Command): Command {
  return cmd
    .option("--in", "follow edges backwards (default: outgoing)")
    .option("--both", "follow edges both ways")
    .option("--label <label>", "only edges with this label (repeatable)", collect);
}

/** Typed properties: `--prop K=V` (string), `--int K=N`, `--double K=X`, `--bool K=true|false`. */
function propertiesOf(opts: Properties): Record<string, Value> {
  const result: Record<string, Value> = {};
  const value = (kind: Value["kind"]): Value => ({ $typeName: "prism.graph.v1.Value", kind });
  const each = (flag: keyof Properties, make: (text: string) => Value["kind"] | undefined) => {
    for (const pair of opts[flag] ?? []) {
      const at = pair.indexOf("=");
      const kind = at > 0 ? make(pair.slice(at + 1)) : undefined;
      if (!kind) throw new UsageError(`--${flag} ${JSON.stringify(pair)}: ${PROPERTY_FORMS[flag]}`);
      result[pair.slice(0, at)] = value(kind);
    }
  };
  each("prop", (text) => ({ case: "stringValue", value: text }));
  each("int", (text) => (/^-?\d+$/.test(text) ? { case: "intValue", value: BigInt(text) } : undefined));
  each("double", (text) =>
    text.trim() !== "" && !Number.isNaN(Number(text))
      ? { case: "doubleValue", value: Number(text) }
      : undefined,
  );
  each("bool", (text) =>
    text === "true" || text === "false" ? { case: "boolValue", value: text === "true" } : undefined,
  );
  return result;
}

const PROPERTY_FORMS: Record<keyof Properties, string> = {
  prop: "KEY=TEXT",
  int: "KEY=N (a whole number)",
  double: "KEY=X (a number)",
  bool: "KEY=true or KEY=false",
};

function directionOf(opts: Walk): Direction {
  return opts.both ? Direction.BOTH : opts.in ? Direction.IN : Direction.OUT;
}

/** `K=V,…` sorted by name (a map has no order of its own). */
function propertyText(properties: Record<string, Value>): string {
  return Object.entries(properties)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, { kind }]) => {
      const v = kind.value;
      return `${name}=${v instanceof Uint8Array ? Buffer.from(v).toString("base64") : String(v)}`;
    })
    .join(",");
}

function nodeText(node: Node): string {
  return `${node.id}\t${node.label}\t${propertyText(node.properties)}`;
}

function edgeText(edge: Edge): string {
  return `${edge.fromId} -${edge.label}-> ${edge.toId}`;
}
