import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Backend, GraphBackend, GraphEdge, GraphNode, PropertyValue } from "@prism/core";
import { DRIVERS } from "@prism/gateway";
import { createPromiseClient, errorDetails, type PromiseClient } from "@prism/proto/grpc";
import {
  Direction,
  type EdgeSchema,
  GraphService,
  type NodeSchema,
  type ValueSchema,
} from "@prism/proto/prism/graph/v1/graph";
import type { ChildServer } from "./child.js";
import { startGatewayProcess } from "./gateway-process.js";
import { type GeneratedGraph, generateGraph, nodeId, seededRandom } from "./graph-data.js";
import type {
  GraphBackendResult,
  GraphComparison,
  GraphLoad,
  GraphQuery,
  GraphSettings,
  GraphWindow,
} from "./graph-report.js";
import { type GraphBackendName, type GraphEndpoints, graphStore } from "./graph-stores.js";
import { summarize } from "./histogram.js";
import { runOpenLoop } from "./open-loop.js";
import { cpuSeconds } from "./proc-stats.js";

/** Everything `pnpm bench graph` can be asked for. */
export interface GraphBenchOptions extends Omit<GraphSettings, "cpus" | "backends">, GraphEndpoints {
  readonly backends: readonly GraphBackendName[];
  /** Write each gateway's V8 CPU profile into `<dir>/<backend>/` (not part of the report). */
  readonly cpuProfileDir?: string;
}

const GATEWAY_NAMESPACE = "graph-gateway";
const DIRECT_NAMESPACE = "graph-direct";
/** Bound of one query call (the gateway's default deadline). */
const CALL_TIMEOUT_MS = 30_000;
/** Bound of one load batch (Gremlin Server writes about 1,000 edges/s). */
const LOAD_TIMEOUT_MS = 120_000;

type GraphClient = PromiseClient<typeof GraphService.method> & { close(): void };

/** How a query call ended, when it did not fail. */
interface Outcome {
  /** Neighbors returned, or nodes reached (0 when refused for the budget). */
  results: number;
  limitReached: boolean;
  budgetExceeded: boolean;
}

/** One side of the comparison. */
interface Target {
  readonly name: "gateway" | "direct";
  loadNodes(nodes: GraphNode[]): Promise<number>;
  loadEdges(edges: GraphEdge[]): Promise<number>;
  neighbors(start: string): Promise<Outcome>;
  traverse(start: string): Promise<Outcome>;
  /** CPU seconds of the process doing this target's work (the gateway's; the bench's for direct). */
  cpu(): number | undefined;
}

/**
 * Runs the Graph benchmark on each backend in turn, handing each result to `onBackend` as soon
 * as it is measured. A backend that fails is reported with its error and the run goes on.
 *
 * @example const { settings, results } = await runGraphBench(options, (r) => print(r))
 */
export async function runGraphBench(
  options: GraphBenchOptions,
  onBackend: (result: GraphBackendResult) => void = () => {},
): Promise<{ settings: GraphSettings; results: GraphBackendResult[] }> {
  const results: GraphBackendResult[] = [];
  const graphs = new Map<string, GeneratedGraph>();
  for (const [index, backend] of options.backends.entries()) {
    const shape =
      backend === "neptune"
        ? { nodes: options.neptuneNodes, edges: options.neptuneEdges, seed: options.seed }
        : { nodes: options.nodes, edges: options.edges, seed: options.seed };
    const key = `${shape.nodes}/${shape.edges}`;
    let graph = graphs.get(key);
    if (!graph) {
      graph = generateGraph(shape);
      graphs.set(key, graph);
    }
    const result = await measureBackend(options, backend, index, graph);
    results.push(result);
    onBackend(result);
  }
  const { pgUrl: _pg, gremlinUrl: _gremlin, cpuProfileDir: _prof, ...settings } = options;
  return { settings: { ...settings, cpus: availableParallelism() }, results };
}

async function measureBackend(
  options: GraphBenchOptions,
  backend: GraphBackendName,
  index: number,
  graph: GeneratedGraph,
): Promise<GraphBackendResult> {
  const log = (text: string) => process.stderr.write(`bench graph ${backend}: ${text}\n`);
  const queries: GraphComparison[] = [];
  const facts = {
    nodes: graph.nodes.length,
    edges: graph.edges.length,
    maxOutDegree: graph.maxOutDegree,
    medianOutDegree: graph.medianOutDegree,
    hubs: graph.hubs,
  };
  const driver = DRIVERS.find((d) => d.type === backend && d.patterns.includes("graph"));
  if (!driver) {
    return {
      backend,
      queries,
      error: `no ${backend} driver with Graph is registered in gateway/src/drivers.ts`,
    };
  }
  const run = randomBytes(4).toString("hex");
  const store = graphStore(backend, run, options);
  let gateway: ChildServer | undefined;
  let client: GraphClient | undefined;
  let direct: Backend | undefined;
  let load: GraphBackendResult["load"];
  try {
    const problems = driver.validate(store.direct);
    if (problems.length > 0) throw new Error(`direct options: ${problems.join("; ")}`);
    log("starting the gateway and opening the direct client…");
    gateway = await startGatewayProcess({
      backends: { store: store.gateway },
      namespaces: {
        [GATEWAY_NAMESPACE]: {
          pattern: "graph",
          backend: "store",
          limits: { visit_budget: options.visitBudget },
        },
      },
      env: store.env,
      ...(options.cpuProfileDir && {
        nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${join(options.cpuProfileDir, backend)}`],
      }),
    });
    client = createPromiseClient(GraphService, { address: gateway.address });
    direct = await driver.open({ name: "bench-direct", options: store.direct, dataDir: store.dir });
    if (!direct.graph) throw new Error(`the ${backend} driver opened no Graph backend`);
    const targets = {
      gateway: gatewayTarget(client, gateway.pid, options),
      direct: directTarget(direct.graph, options),
    };

    const loadOrder = orderFor(index);
    const loads: Partial<Record<"gateway" | "direct", GraphLoad>> = {};
    for (const name of loadOrder) {
      log(`loading ${facts.nodes} nodes and ${facts.edges} edges (${name})…`);
      loads[name] = await loadGraph(targets[name], graph, options.batch);
    }
    load = { gateway: loads.gateway!, direct: loads.direct! };
    await store.afterLoad?.();

    for (const [q, query] of (["neighbors", "traverse"] as const).entries()) {
      const order = orderFor(q + index);
      const windows: Partial<Record<"gateway" | "direct", GraphWindow>> = {};
      for (const name of order) {
        log(`${query} (${name})…`);
        windows[name] = await queryWindow(options, targets[name], query, graph.nodes.length, q);
      }
      queries.push({ query, first: order[0], gateway: windows.gateway!, direct: windows.direct! });
    }
    return { backend, graph: facts, load, queries };
  } catch (error) {
    return {
      backend,
      graph: facts,
      ...(load && { load }),
      queries,
      error: (error as Error).message,
    };
  } finally {
    client?.close();
    await gateway?.stop();
    await direct?.close().catch(() => {});
    await store.cleanup();
  }
}

function orderFor(n: number): readonly ["gateway", "direct"] | readonly ["direct", "gateway"] {
  return n % 2 === 0 ? (["gateway", "direct"] as const) : (["direct", "gateway"] as const);
}

/** Loads nodes then edges, one batch in flight at a time. */
async function loadGraph(target: Target, graph: GeneratedGraph, batch: number): Promise<GraphLoad> {
  const started = performance.now();
  for (let at = 0; at < graph.nodes.length; at += batch) {
    const nodes = graph.nodes.slice(at, at + batch);
    const upserted = await target.loadNodes(nodes);
    if (upserted !== nodes.length) throw new Error(`a batch of ${nodes.length} nodes upserted ${upserted}`);
  }
  const nodesDone = performance.now();
  for (let at = 0; at < graph.edges.length; at += batch) {
    const edges = graph.edges.slice(at, at + batch);
    const upserted = await target.loadEdges(edges);
    if (upserted !== edges.length) throw new Error(`a batch of ${edges.length} edges upserted ${upserted}`);
  }
  const done = performance.now();
  return {
    nodesPerSecond: graph.nodes.length / Math.max(1e-3, (nodesDone - started) / 1000),
    edgesPerSecond: graph.edges.length / Math.max(1e-3, (done - nodesDone) / 1000),
    ms: done - started,
  };
}

/**
 * One open-loop window of `query` against `target`: start nodes uniform from a seeded sequence
 * (window `q` of every target draws the same starts).
 */
async function queryWindow(
  options: GraphBenchOptions,
  target: Target,
  query: GraphQuery,
  nodes: number,
  q: number,
): Promise<GraphWindow> {
  const next = seededRandom(options.seed * 31 + q + 1);
  let results = 0;
  let succeeded = 0;
  let limitReached = 0;
  let budgetExceeded = 0;
  const warmupMs = options.warmupS * 1000;
  // As runOpenLoop counts: calls from this one on are inside the measured window.
  const firstMeasured = Math.ceil((warmupMs * options.rate) / 1000);
  let cpuStart: number | undefined;
  let cpuEnd: number | undefined;
  let benchStart = 0;
  let benchEnd = 0;
  const issue = async (seq: number): Promise<void> => {
    const start = nodeId(Math.floor(next() * nodes));
    const counted = seq >= firstMeasured;
    const outcome = await (query === "neighbors" ? target.neighbors(start) : target.traverse(start));
    if (!counted) return;
    if (outcome.budgetExceeded) budgetExceeded++;
    else {
      succeeded++;
      results += outcome.results;
      if (outcome.limitReached) limitReached++;
    }
  };
  // Warm code first (see GraphSettings.warmCalls), from start nodes of a sequence of its own.
  const warm = seededRandom(options.seed * 37 + q + 1);
  let warmed = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (warmed < options.warmCalls) {
        warmed++;
        const start = nodeId(Math.floor(warm() * nodes));
        await (query === "neighbors" ? target.neighbors(start) : target.traverse(start));
      }
    }),
  );
  const result = await runOpenLoop(
    issue,
    {
      rate: options.rate,
      concurrency: options.concurrency,
      warmupMs,
      durationMs: options.durationS * 1000,
    },
    {
      onMeasureStart: () => {
        cpuStart = target.cpu();
        benchStart = benchCpuSeconds();
      },
      onMeasureEnd: () => {
        cpuEnd = target.cpu();
        benchEnd = benchCpuSeconds();
      },
    },
  );
  const calls = result.histogram.totalCount;
  const cpuS = cpuStart === undefined || cpuEnd === undefined ? undefined : cpuEnd - cpuStart;
  return {
    rate: options.rate,
    callsPerSecond: result.throughput,
    latency: summarize(result.histogram),
    resultsPerCall: succeeded > 0 ? results / succeeded : 0,
    limitReached,
    budgetExceeded,
    ...(cpuS !== undefined && calls > 0 ? { cpuMsPerThousand: (cpuS * 1000) / (calls / 1000) } : {}),
    benchCpuMsPerThousand: calls > 0 ? ((benchEnd - benchStart) * 1000) / (calls / 1000) : 0,
    unfinished: result.unfinished,
    failures: Object.fromEntries(result.errors),
  };
}

function gatewayTarget(client: GraphClient, pid: number, options: GraphBenchOptions): Target {
  const namespace = GATEWAY_NAMESPACE;
  return {
    name: "gateway",
    async loadNodes(nodes) {
      const response = await client.upsertNodes(
        { namespace, nodes: nodes.map(toNodeMessage) },
        { timeoutMs: LOAD_TIMEOUT_MS },
      );
      return response.upserted;
    },
    async loadEdges(edges) {
      const response = await client.upsertEdges(
        { namespace, edges: edges.map(toEdgeMessage) },
        { timeoutMs: LOAD_TIMEOUT_MS },
      );
      return response.upserted;
    },
    async neighbors(start) {
      const page = await client.neighbors(
        { namespace, nodeId: start, direction: Direction.BOTH, pageSize: options.neighborsPage },
        { timeoutMs: CALL_TIMEOUT_MS },
      );
      return { results: page.neighbors.length, limitReached: false, budgetExceeded: false };
    },
    async traverse(start) {
      let reached = 0;
      try {
        for await (const { steps } of client.traverse(
          {
            namespace,
            startId: start,
            direction: Direction.OUT,
            maxDepth: options.traverseDepth,
            limit: options.traverseLimit,
          },
          { timeoutMs: CALL_TIMEOUT_MS },
        )) {
          reached += steps.length;
        }
      } catch (error) {
        if (errorDetails(error).reason === "TRAVERSAL_BUDGET_EXCEEDED") {
          return { results: 0, limitReached: false, budgetExceeded: true };
        }
        throw error;
      }
      return { results: reached, limitReached: reached >= options.traverseLimit, budgetExceeded: false };
    },
    cpu: () => cpuSeconds(pid),
  };
}

function directTarget(graph: GraphBackend, options: GraphBenchOptions): Target {
  const namespace = DIRECT_NAMESPACE;
  const signal = (ms: number) => ({ signal: AbortSignal.timeout(ms) });
  return {
    name: "direct",
    loadNodes: (nodes) => graph.upsertNodes(namespace, nodes, signal(LOAD_TIMEOUT_MS)),
    loadEdges: (edges) => graph.upsertEdges(namespace, edges, signal(LOAD_TIMEOUT_MS)),
    async neighbors(start) {
      const page = await graph.neighbors(namespace, start, {
        ...signal(CALL_TIMEOUT_MS),
        direction: "both",
        edgeLabels: [],
        limit: options.neighborsPage,
      });
      return { results: page.neighbors.length, limitReached: false, budgetExceeded: false };
    },
    async traverse(start) {
      try {
        const steps = await graph.traverse(namespace, start, {
          ...signal(CALL_TIMEOUT_MS),
          direction: "out",
          maxDepth: options.traverseDepth,
          edgeLabels: [],
          nodeLabels: [],
          limit: options.traverseLimit,
          visitBudget: options.visitBudget,
        });
        return {
          results: steps.length,
          limitReached: steps.length >= options.traverseLimit,
          budgetExceeded: false,
        };
      } catch (error) {
        if ((error as { reason?: string }).reason === "TRAVERSAL_BUDGET_EXCEEDED") {
          return { results: 0, limitReached: false, budgetExceeded: true };
        }
        throw error;
      }
    },
    cpu: benchCpuSeconds,
  };
}

/** CPU seconds the bench process has used so far. */
function benchCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function toValue(value: PropertyValue): MessageInitShape<typeof ValueSchema> {
  switch (typeof value) {
    case "string":
      return { kind: { case: "stringValue", value } };
    case "bigint":
      return { kind: { case: "intValue", value } };
    case "number":
      return { kind: { case: "doubleValue", value } };
    case "boolean":
      return { kind: { case: "boolValue", value } };
    default:
      return { kind: { case: "bytesValue", value } };
  }
}

function toProperties(properties: Record<string, PropertyValue>) {
  return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, toValue(v)]));
}

function toNodeMessage(node: GraphNode): MessageInitShape<typeof NodeSchema> {
  return { id: node.id, label: node.label, properties: toProperties(node.properties) };
}

function toEdgeMessage(edge: GraphEdge): MessageInitShape<typeof EdgeSchema> {
  return {
    fromId: edge.fromId,
    toId: edge.toId,
    label: edge.label,
    properties: toProperties(edge.properties),
  };
}
