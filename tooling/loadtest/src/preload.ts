import { randomBytes } from "node:crypto";
import { GraphService } from "@prism/proto/prism/graph/v1/graph";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import type { GatewayConnections } from "./connections.js";
import {
  EDGE_LABEL,
  edgeTarget,
  NODE_LABEL,
  nodeId,
  rank,
  recordId,
  seriesId,
  timestamp,
  weight,
} from "./operations.js";
import type { OperationSpec } from "./scenario.js";

/** Requests the preload keeps in flight. */
const PRELOAD_CONCURRENCY = 16;
/** Nodes or edges per upsert of the preload. */
const GRAPH_BATCH = 500;
/** Events the preload writes into each series a `ts.read` reads. */
const EVENTS_PER_SERIES = 50;

/** What the preload wrote, for the report. */
export interface PreloadSummary {
  records: number;
  events: number;
  nodes: number;
  edges: number;
  ms: number;
}

/**
 * Writes what the scenario's reads need, before anything is measured: every record of a key space
 * that `kv.get`/`kv.scan` read (the largest one per namespace), a few events per series that
 * `ts.read` reads, and for any graph operation the graph itself (nodes, then `edgesPerNode`
 * outgoing edges each). Writes-only operations need nothing.
 *
 * @example await preload(scenario.operations, connections)
 */
export async function preload(
  operations: readonly OperationSpec[],
  connections: GatewayConnections,
): Promise<PreloadSummary> {
  const started = performance.now();
  const summary = { records: 0, events: 0, nodes: 0, edges: 0, ms: 0 };
  const kv = new Map<string, { keys: number; valueBytes: number }>();
  const ts = new Map<string, number>();
  const graphs = new Map<string, { nodes: number; edgesPerNode: number }>();
  for (const spec of operations) {
    if (spec.op === "kv.get" || spec.op === "kv.scan") {
      const known = kv.get(spec.namespace);
      if (!known || known.keys < spec.keys) kv.set(spec.namespace, spec);
    } else if (spec.op === "ts.read") {
      ts.set(spec.namespace, Math.max(ts.get(spec.namespace) ?? 0, spec.series));
    } else if (spec.op.startsWith("graph.") && "nodes" in spec) {
      const known = graphs.get(spec.namespace);
      graphs.set(spec.namespace, {
        nodes: Math.max(known?.nodes ?? 0, spec.nodes),
        edgesPerNode: Math.max(known?.edgesPerNode ?? 0, spec.edgesPerNode),
      });
    }
  }
  for (const [namespace, { keys, valueBytes }] of kv) {
    const value = randomBytes(valueBytes);
    await inParallel(keys, (i) =>
      connections.unary(i, KeyValueService.method.put, {
        namespace,
        id: recordId(i),
        items: [{ key: new Uint8Array(), value }],
      }),
    );
    summary.records += keys;
  }
  for (const [namespace, series] of ts) {
    await inParallel(series, (i) =>
      connections.unary(i, TimeSeriesService.method.write, {
        namespace,
        seriesId: seriesId(i),
        events: Array.from({ length: EVENTS_PER_SERIES }, (_, j) => ({
          eventTime: timestamp(-j * 1000),
          eventId: `preload-${j}`,
          payload: new Uint8Array(16),
        })),
      }),
    );
    summary.events += series * EVENTS_PER_SERIES;
  }
  for (const [namespace, { nodes, edgesPerNode }] of graphs) {
    await inParallel(Math.ceil(nodes / GRAPH_BATCH), (b) =>
      connections.unary(b, GraphService.method.upsertNodes, {
        namespace,
        nodes: range(b * GRAPH_BATCH, Math.min(nodes, (b + 1) * GRAPH_BATCH)).map((i) => ({
          id: nodeId(i),
          label: NODE_LABEL,
          properties: rank(i, -1),
        })),
      }),
    );
    const edges = nodes * edgesPerNode;
    await inParallel(Math.ceil(edges / GRAPH_BATCH), (b) =>
      connections.unary(b, GraphService.method.upsertEdges, {
        namespace,
        edges: range(b * GRAPH_BATCH, Math.min(edges, (b + 1) * GRAPH_BATCH)).map((k) => {
          const from = Math.floor(k / edgesPerNode);
          return {
            fromId: nodeId(from),
            toId: nodeId(edgeTarget(from, k % edgesPerNode, nodes)),
            label: EDGE_LABEL,
            properties: weight(k / edges),
          };
        }),
      }),
    );
    summary.nodes += nodes;
    summary.edges += edges;
  }
  summary.ms = Math.round(performance.now() - started);
  return summary;
}

/** Runs `task(0 … count−1)` with at most PRELOAD_CONCURRENCY at a time; the first failure rejects. */
async function inParallel(count: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(PRELOAD_CONCURRENCY, count) }, worker));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
