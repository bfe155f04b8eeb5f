import { int, round, table } from "./format.js";
import type { LatencySummary } from "./histogram.js";

/** Through the gateway on PostgreSQL, at low load: 1-hop Neighbors p99 (ms). */
export const GRAPH_NEIGHBORS_P99_GOAL_MS = 5;
/** Through the gateway on PostgreSQL, at low load: 2-hop Traverse p90 (ms). */
export const GRAPH_TRAVERSE_P90_GOAL_MS = 20;

/** The two queries measured. */
export type GraphQuery = "neighbors" | "traverse";

/** The generated graph one backend was measured on. */
export interface GraphFacts {
  readonly nodes: number;
  readonly edges: number;
  readonly maxOutDegree: number;
  readonly medianOutDegree: number;
  /** Nodes with at least 1,000 outgoing edges. */
  readonly hubs: number;
}

/** Loading the graph into one target: sequential batches. */
export interface GraphLoad {
  readonly nodesPerSecond: number;
  readonly edgesPerSecond: number;
  /** Wall time of the whole load (nodes, then edges). */
  readonly ms: number;
}

/** One measured window of one target. */
export interface GraphWindow {
  /** Calls scheduled per second (the open loop's offered rate). */
  readonly rate: number;
  /** Calls completed per second inside the window (successes and budget refusals). */
  readonly callsPerSecond: number;
  /** Latency of one call, µs, from its scheduled time (budget refusals included). */
  readonly latency: LatencySummary;
  /** Mean neighbors returned, or nodes reached, per successful call. */
  readonly resultsPerCall: number;
  /** Traversals that stopped at the limit (a full answer by the contract; counted, not failed). */
  readonly limitReached: number;
  /** Traversals refused with TRAVERSAL_BUDGET_EXCEEDED (expected on hubs; counted, not failed). */
  readonly budgetExceeded: number;
  /**
   * CPU milliseconds per 1,000 calls: of the gateway process for the gateway, of the bench process
   * (the backend's client plus the load generator) for the direct baseline.
   */
  readonly cpuMsPerThousand?: number;
  /**
   * CPU milliseconds per 1,000 calls of the bench process: the client's side (the grpc-js client
   * decoding the answers for the gateway; the same as `cpuMsPerThousand` for direct).
   */
  readonly benchCpuMsPerThousand: number;
  /** Calls scheduled inside the window still unsettled when the drain gave up. */
  readonly unfinished: number;
  /** Failed calls by message (budget refusals are not failures). */
  readonly failures: Readonly<Record<string, number>>;
}

/** One query, the gateway against the backend called directly. */
export interface GraphComparison {
  readonly query: GraphQuery;
  /** Which target ran first (the order alternates between queries and backends). */
  readonly first: "gateway" | "direct";
  readonly gateway: GraphWindow;
  readonly direct: GraphWindow;
}

/** Everything measured on one backend, or why it could not be. */
export interface GraphBackendResult {
  readonly backend: string;
  readonly graph?: GraphFacts;
  readonly load?: { readonly gateway: GraphLoad; readonly direct: GraphLoad };
  readonly queries: readonly GraphComparison[];
  /** Set when the backend failed before it was fully measured (e.g. its server is down). */
  readonly error?: string;
}

export interface GraphSettings {
  readonly backends: readonly string[];
  /** The graph of every backend but neptune. */
  readonly nodes: number;
  readonly edges: number;
  /** The graph of neptune (smaller by default: Gremlin Server loads about 1,000 edges/s). */
  readonly neptuneNodes: number;
  readonly neptuneEdges: number;
  readonly seed: number;
  /** Nodes or edges per Upsert call while loading. */
  readonly batch: number;
  /** Calls/s offered by the open loop. */
  readonly rate: number;
  /** Most calls in flight. */
  readonly concurrency: number;
  readonly durationS: number;
  readonly warmupS: number;
  /**
   * Calls each target serves back to back before its open loop, so both run JIT-compiled code as
   * a gateway in service does (at 50 calls/s, a 2 s warm-up left the gateway's code interpreted:
   * its CPU per call fell from 4.5 to 2.9 ms after 2,000 calls).
   */
  readonly warmCalls: number;
  readonly neighborsPage: number;
  readonly traverseDepth: number;
  readonly traverseLimit: number;
  readonly visitBudget: number;
  readonly cpus: number;
}

const ms = (us: number): string => (us / 1000).toFixed(2);
const cpu = (w: GraphWindow): string => (w.cpuMsPerThousand === undefined ? "—" : int(w.cpuMsPerThousand));
const perSecond = (n: number): string => (n < 10 ? n.toFixed(1) : int(n));

/**
 * The opening lines of a run: what was measured and how.
 *
 * @example process.stdout.write(formatGraphHeader(settings))
 */
export function formatGraphHeader(s: GraphSettings): string {
  const neptune = s.backends.includes("neptune")
    ? ` neptune: ${int(s.neptuneNodes)} nodes / ${int(s.neptuneEdges)} edges` +
      (s.neptuneNodes !== s.nodes || s.neptuneEdges !== s.edges
        ? " (smaller: Gremlin Server loads about 1,000 edges/s; --full for the same graph)."
        : ".")
    : "";
  return (
    `Prism bench graph: Graph queries through the gateway (grpc-js client) vs the backend's driver in the bench process (direct).\n` +
    `Graph: ${int(s.nodes)} nodes / ${int(s.edges)} edges, out-degree by a power law (source ⌊N·u³⌋), ` +
    `targets uniform, seed ${s.seed}, loaded in batches of ${int(s.batch)}.${neptune}\n` +
    `Low load: open loop at ${int(s.rate)} calls/s (at most ${s.concurrency} in flight; latency from each call's scheduled time), ` +
    `start nodes uniform (the same sequence for both targets), ${s.durationS} s after ${int(s.warmCalls)} calls back to back (warm code) and ${s.warmupS} s of the open loop per target and query, ` +
    `order alternating. 1-hop: Neighbors both directions, page ${s.neighborsPage}. ` +
    `2-hop: Traverse out, max_depth ${s.traverseDepth}, limit ${int(s.traverseLimit)}, visit budget ${int(s.visitBudget)}. ` +
    `${s.cpus} CPUs shared by the bench, the gateway and the servers.\n`
  );
}

/**
 * One backend's tables (load, queries) and any failures.
 *
 * @example process.stdout.write(formatGraphBackend(result))
 */
export function formatGraphBackend(r: GraphBackendResult): string {
  const lines = [`── ${r.backend} ──`];
  if (r.graph) {
    lines.push(
      `graph: ${int(r.graph.nodes)} nodes, ${int(r.graph.edges)} edges; out-degree max ${int(r.graph.maxOutDegree)}, ` +
        `median ${int(r.graph.medianOutDegree)}, ${int(r.graph.hubs)} nodes with ≥ 1,000`,
    );
  }
  if (r.load) {
    lines.push(
      ...table([
        ["load", "nodes/s", "edges/s", "total s"],
        ...(["gateway", "direct"] as const).map((target) => {
          const l = r.load![target];
          return [target, int(l.nodesPerSecond), int(l.edgesPerSecond), (l.ms / 1000).toFixed(1)];
        }),
      ]),
    );
  }
  if (r.queries.length > 0) {
    lines.push("");
    lines.push(
      ...table([
        [
          "query",
          "target",
          "calls/s",
          "p50 ms",
          "p90 ms",
          "p99 ms",
          "max ms",
          "results/call",
          "at limit",
          "over budget",
          "server CPU ms/1k",
          "bench CPU ms/1k",
        ],
        ...r.queries.flatMap((c) =>
          orderOf(c).map((target) => {
            const w = c[target];
            return [
              target === c.first ? queryName(c.query) : "",
              target,
              perSecond(w.callsPerSecond),
              ms(w.latency.p50),
              ms(w.latency.p90),
              ms(w.latency.p99),
              ms(w.latency.max),
              w.resultsPerCall.toFixed(1),
              int(w.limitReached),
              int(w.budgetExceeded),
              target === "gateway" ? cpu(w) : "—",
              int(w.benchCpuMsPerThousand),
            ];
          }),
        ),
      ]),
    );
    lines.push(
      "CPU per 1,000 calls: server = the gateway process; bench = this process (the grpc-js client and its decoding " +
        "for gateway rows, the backend's driver for direct rows; the load generator in both).",
    );
  }
  if (r.error !== undefined) lines.push(`NOT MEASURED: ${r.error}`);
  for (const c of r.queries) {
    for (const target of ["gateway", "direct"] as const) {
      const w = c[target];
      for (const [message, count] of Object.entries(w.failures)) {
        lines.push(`FAILED CALLS (${c.query} ${target}): ${count} × ${message}`);
      }
      if (w.unfinished > 0) lines.push(`UNFINISHED CALLS (${c.query} ${target}): ${w.unfinished}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function orderOf(c: GraphComparison): readonly ("gateway" | "direct")[] {
  return c.first === "gateway" ? ["gateway", "direct"] : ["direct", "gateway"];
}

function queryName(query: GraphQuery): string {
  return query === "neighbors" ? "1-hop Neighbors" : "2-hop Traverse";
}

/** One goal's verdict line. */
export interface GraphGoal {
  readonly met: boolean;
  readonly text: string;
}

/**
 * The goals, judged (reported, never enforced): through the gateway on PostgreSQL at low
 * load, 1-hop Neighbors p99 ≤ 5 ms and 2-hop Traverse p90 ≤ 20 ms. The graph's size is in the text:
 * the goals are set for 10,000 nodes and 100,000 edges.
 *
 * @example graphGoals(results).map((g) => g.text)
 */
export function graphGoals(results: readonly GraphBackendResult[]): GraphGoal[] {
  const goals: GraphGoal[] = [];
  for (const r of results) {
    if (r.backend !== "postgres") continue;
    const on = r.graph ? ` (${int(r.graph.nodes)} nodes / ${int(r.graph.edges)} edges)` : "";
    const neighbors = r.queries.find((c) => c.query === "neighbors");
    if (neighbors) {
      const p99 = neighbors.gateway.latency.p99 / 1000;
      goals.push({
        met: p99 <= GRAPH_NEIGHBORS_P99_GOAL_MS,
        text: `postgres 1-hop Neighbors through the gateway: p99 ${p99.toFixed(2)} ms (goal ≤ ${GRAPH_NEIGHBORS_P99_GOAL_MS} ms)${on}`,
      });
    }
    const traverse = r.queries.find((c) => c.query === "traverse");
    if (traverse) {
      const p90 = traverse.gateway.latency.p90 / 1000;
      goals.push({
        met: p90 <= GRAPH_TRAVERSE_P90_GOAL_MS,
        text: `postgres 2-hop Traverse through the gateway: p90 ${p90.toFixed(2)} ms (goal ≤ ${GRAPH_TRAVERSE_P90_GOAL_MS} ms)${on}`,
      });
    }
  }
  return goals;
}

/**
 * The goal lines, PASS or BELOW GOAL each.
 *
 * @example process.stdout.write(formatGraphGoals(results))
 */
export function formatGraphGoals(results: readonly GraphBackendResult[]): string {
  const goals = graphGoals(results);
  if (goals.length === 0) return "";
  const lines = ["goals (reported, not enforced):"];
  for (const goal of goals) lines.push(`  ${goal.met ? "PASS      " : "BELOW GOAL"}  ${goal.text}`);
  return `${lines.join("\n")}\n`;
}

/**
 * Every number of a run as one JSON line.
 *
 * @example console.log(formatGraphJson(settings, results))
 */
export function formatGraphJson(settings: GraphSettings, results: readonly GraphBackendResult[]): string {
  const out = { bench: "graph", settings, results, goals: graphGoals(results) };
  return JSON.stringify(out, (_key, value) => (typeof value === "number" ? round(value, 3) : value));
}

/**
 * Failed and unfinished calls across every window, plus one for each backend that could not be
 * measured. Budget refusals and traversals at the limit are not failures.
 */
export function graphFailures(results: readonly GraphBackendResult[]): number {
  const windows = results.flatMap((r) => r.queries.flatMap((c) => [c.gateway, c.direct]));
  return (
    results.filter((r) => r.error !== undefined).length +
    windows.reduce((sum, w) => sum + w.unfinished + Object.values(w.failures).reduce((a, b) => a + b, 0), 0)
  );
}
