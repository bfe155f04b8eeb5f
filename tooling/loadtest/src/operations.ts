import { randomBytes } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { Direction, GraphService } from "@prism/proto/prism/graph/v1/graph";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import type { GatewayConnections } from "./connections.js";
import type { LoadOperation } from "./engine.js";
import { type OperationSpec, operationName } from "./scenario.js";

type Spec<Op extends OperationSpec["op"]> = Extract<OperationSpec, { op: Op }>;

/**
 * The id of record `i` of a KeyValue key space, node `i` of a graph, series `i` of a TimeSeries
 * namespace: the preload writes them, the operations use them.
 *
 * @example recordId(7) // "lt-7"
 */
export const recordId = (i: number): string => `lt-${i}`;
export const nodeId = (i: number): string => `lt-n${i}`;
export const seriesId = (i: number): string => `lt-s${i}`;
export const EDGE_LABEL = "lt-link";
export const NODE_LABEL = "lt-node";

/**
 * Node `i`'s `j`th outgoing edge goes to this node: spread over the graph, never itself.
 *
 * @example edgeTarget(0, 0, 200) // 1
 */
export function edgeTarget(i: number, j: number, nodes: number): number {
  return (i + 1 + ((j * 7919) % (nodes - 1))) % nodes;
}

/**
 * Deterministic pseudo-random numbers in [0, 1) (mulberry32): the same seed picks the same keys.
 *
 * @example const next = seededRandom(42); next()
 */
export function seededRandom(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A Timestamp `offsetMs` from now (negative = in the past).
 *
 * @example timestamp(-60_000) // a minute ago
 */
export function timestamp(offsetMs = 0): MessageInitShape<typeof TimestampSchema> {
  const ms = Date.now() + offsetMs;
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/** Unique per process run: event ids of two runs never collide (TimeSeries deduplicates them). */
const RUN_TAG = randomBytes(4).toString("hex");

/**
 * The load operation for one scenario entry, issuing its requests on `connections`.
 *
 * @example const op = createOperation({ op: "kv.get", namespace: "demo-kv", keys: 1000, … }, connections, 1)
 */
export function createOperation(
  spec: OperationSpec,
  connections: GatewayConnections,
  seed: number,
): LoadOperation {
  const random = seededRandom(seed);
  const base = { name: operationName(spec), weight: spec.weight };
  switch (spec.op) {
    case "kv.put":
    case "kv.get":
    case "kv.scan":
      return { ...base, run: kvRun(spec, connections, random) };
    case "ts.write":
    case "ts.read":
      return { ...base, run: tsRun(spec, connections, random) };
    default:
      return { ...base, run: graphRun(spec, connections, random) };
  }
}

function kvRun(
  spec: Spec<"kv.put" | "kv.get" | "kv.scan">,
  connections: GatewayConnections,
  random: () => number,
): (seq: number) => Promise<void> {
  const { namespace } = spec;
  const pick = () => recordId(Math.floor(random() * spec.keys));
  if (spec.op === "kv.put") {
    const value = randomBytes(spec.valueBytes);
    return async (seq) => {
      await connections.unary(seq, KeyValueService.method.put, {
        namespace,
        id: pick(),
        items: [{ key: new Uint8Array(), value }],
      });
    };
  }
  if (spec.op === "kv.get") {
    return async (seq) => {
      const id = pick();
      const { items } = await connections.unary(seq, KeyValueService.method.get, {
        namespace,
        id,
        predicate: { case: "all", value: {} },
      });
      if (items.length === 0) throw new Error(`kv.get: record ${id} is missing (was the preload skipped?)`);
    };
  }
  const { records } = spec;
  return async (seq) => {
    // Records from the start of the namespace; the call is cancelled once `records` arrived.
    let left = records;
    const seen = await connections.stream(seq, KeyValueService.method.scan, { namespace }, () => --left > 0);
    if (seen === 0) throw new Error("kv.scan: the namespace is empty (was the preload skipped?)");
  };
}

function tsRun(
  spec: Spec<"ts.write" | "ts.read">,
  connections: GatewayConnections,
  random: () => number,
): (seq: number) => Promise<void> {
  const { namespace } = spec;
  const pick = () => seriesId(Math.floor(random() * spec.series));
  if (spec.op === "ts.write") {
    const payload = randomBytes(spec.payloadBytes);
    return async (seq) => {
      const eventTime = timestamp();
      const events = Array.from({ length: spec.batchSize }, (_, j) => ({
        eventTime,
        eventId: `${RUN_TAG}-${seq}-${j}`,
        payload,
      }));
      await connections.unary(seq, TimeSeriesService.method.write, {
        namespace,
        seriesId: pick(),
        events,
      });
    };
  }
  return async (seq) => {
    await connections.unary(seq, TimeSeriesService.method.read, {
      namespace,
      seriesId: pick(),
      start: timestamp(-spec.windowSeconds * 1000),
      end: timestamp(1000),
      pageSizeEvents: spec.pageSizeEvents,
    });
  };
}

function graphRun(
  spec: Spec<"graph.upsert" | "graph.neighbors" | "graph.traverse">,
  connections: GatewayConnections,
  random: () => number,
): (seq: number) => Promise<void> {
  const { namespace } = spec;
  const pick = () => Math.floor(random() * spec.nodes);
  if (spec.op === "graph.upsert") {
    if (spec.kind === "edges") {
      return async (seq) => {
        const edges = Array.from({ length: spec.batchSize }, () => {
          const from = pick();
          const to = edgeTarget(from, Math.floor(random() * spec.edgesPerNode), spec.nodes);
          return { fromId: nodeId(from), toId: nodeId(to), label: EDGE_LABEL, properties: weight(random()) };
        });
        await connections.unary(seq, GraphService.method.upsertEdges, { namespace, edges });
      };
    }
    return async (seq) => {
      const nodes = Array.from({ length: spec.batchSize }, () => {
        const i = pick();
        return { id: nodeId(i), label: NODE_LABEL, properties: rank(i, seq) };
      });
      await connections.unary(seq, GraphService.method.upsertNodes, { namespace, nodes });
    };
  }
  if (spec.op === "graph.neighbors") {
    return async (seq) => {
      const id = nodeId(pick());
      const { neighbors } = await connections.unary(seq, GraphService.method.neighbors, {
        namespace,
        nodeId: id,
        direction: Direction.OUT,
        pageSize: spec.pageSize,
      });
      if (neighbors.length === 0) throw new Error(`graph.neighbors: node ${id} has no edges (preload?)`);
    };
  }
  return async (seq) => {
    await connections.stream(seq, GraphService.method.traverse, {
      namespace,
      startId: nodeId(pick()),
      direction: Direction.OUT,
      maxDepth: spec.depth,
      limit: spec.limit,
    });
  };
}

/**
 * A node's properties: its index and the request that last wrote it.
 *
 * @example rank(3, 0).rank // { kind: { case: "intValue", value: 3n } }
 */
export function rank(i: number, seq: number) {
  return {
    rank: { kind: { case: "intValue" as const, value: BigInt(i) } },
    writtenBy: { kind: { case: "intValue" as const, value: BigInt(seq) } },
  };
}

/**
 * An edge's properties.
 *
 * @example weight(0.5).weight // { kind: { case: "doubleValue", value: 0.5 } }
 */
export function weight(value: number) {
  return { weight: { kind: { case: "doubleValue" as const, value } } };
}
