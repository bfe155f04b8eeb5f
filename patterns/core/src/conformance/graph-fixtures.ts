import { expect } from "vitest";
import { isPrismError } from "../errors.js";
import type {
  Direction,
  GraphBackend,
  GraphEdge,
  GraphNode,
  Neighbor,
  NeighborCursor,
  NeighborsOptions,
  PropertyValue,
} from "../graph.js";
import type { Reason } from "../reasons.js";
import { compareUtf8 } from "../timeseries.js";

/** What the Graph test groups need from the suite that opened the backend. */
export interface GraphSuiteContext {
  graph(): GraphBackend;
}

/** A node; properties default to none. */
export const node = (id: string, label = "n", properties: Record<string, PropertyValue> = {}): GraphNode => ({
  id,
  label,
  properties,
});

/** An edge; properties default to none. */
export const edge = (
  fromId: string,
  toId: string,
  label = "e",
  properties: Record<string, PropertyValue> = {},
): GraphEdge => ({ fromId, toId, label, properties });

/**
 * A property value as a comparable, readable string that keeps its JS type: `-0` differs from
 * `0`, `1` (number) from `1n` (bigint), bytes are hex.
 */
export function valueView(value: PropertyValue): string {
  if (typeof value === "string") return `string:${value}`;
  if (typeof value === "bigint") return `bigint:${value}`;
  if (typeof value === "number") return `number:${Object.is(value, -0) ? "-0" : String(value)}`;
  if (typeof value === "boolean") return `boolean:${value}`;
  if (value instanceof Uint8Array)
    return `bytes:${Buffer.from(value.buffer, value.byteOffset, value.length).toString("hex")}`;
  return `unexpected:${typeof value}:${String(value)}`;
}

/** Properties as sorted `[name, valueView]` pairs. */
export const propsView = (properties: Record<string, PropertyValue>): [string, string][] =>
  Object.entries(properties)
    .map(([name, value]): [string, string] => [name, valueView(value)])
    .sort(([a], [b]) => compareUtf8(a, b));

export const nodeView = (n: GraphNode) => ({ id: n.id, label: n.label, properties: propsView(n.properties) });
export const nodesView = (nodes: GraphNode[]) => nodes.map(nodeView);

export const edgeView = (e: GraphEdge) => ({
  fromId: e.fromId,
  toId: e.toId,
  label: e.label,
  properties: propsView(e.properties),
});
export const edgesView = (edges: GraphEdge[]) => edges.map(edgeView);

/** `from -label-> to`: an edge's identity. */
export const edgeKey = (e: { fromId: string; toId: string; label: string }): string =>
  `${e.fromId} -${e.label}-> ${e.toId}`;

/** A neighbor as `direction other-id via edge-key`: short diffs for order tests. */
export const neighborKey = (n: Neighbor): string =>
  `${n.direction} ${n.direction === "out" ? n.edge.toId : n.edge.fromId} ${edgeKey(n.edge)}`;

/** The neighbors of `nodeId` among `edges`, in the contract's cursor order, as {@link neighborKey}s. */
export function expectedNeighbors(
  edges: GraphEdge[],
  nodeId: string,
  direction: Direction,
  edgeLabels: string[] = [],
): string[] {
  const found: { other: string; label: string; direction: "out" | "in"; key: string }[] = [];
  for (const e of edges) {
    if (edgeLabels.length > 0 && !edgeLabels.includes(e.label)) continue;
    if (direction !== "in" && e.fromId === nodeId) {
      found.push({ other: e.toId, label: e.label, direction: "out", key: `out ${e.toId} ${edgeKey(e)}` });
    }
    if (direction !== "out" && e.toId === nodeId) {
      found.push({ other: e.fromId, label: e.label, direction: "in", key: `in ${e.fromId} ${edgeKey(e)}` });
    }
  }
  found.sort(
    (x, y) =>
      compareUtf8(x.other, y.other) ||
      compareUtf8(x.label, y.label) ||
      (x.direction === y.direction ? 0 : x.direction === "out" ? -1 : 1),
  );
  return found.map((f) => f.key);
}

/** Neighbors options: both directions, every label, a generous limit. */
export const neighborsOptions = (more: Partial<NeighborsOptions> = {}): NeighborsOptions => ({
  direction: "both",
  edgeLabels: [],
  limit: 10_000,
  ...more,
});

/** The cursor that continues after `n`. */
export const cursorOf = (n: Neighbor): NeighborCursor => ({
  nodeId: n.direction === "out" ? n.edge.toId : n.edge.fromId,
  label: n.edge.label,
  direction: n.direction,
});

/**
 * Every page of a node's neighbors, continuing after each page's last neighbor. Checks the
 * paging rules on the way: no page exceeds `limit`, a page with `more` is not empty, the last
 * page says `more: false`.
 */
export async function neighborPages(
  graph: GraphBackend,
  namespace: string,
  nodeId: string,
  options: NeighborsOptions,
): Promise<Neighbor[][]> {
  const pages: Neighbor[][] = [];
  let after: NeighborCursor | undefined = options.after;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await graph.neighbors(namespace, nodeId, { ...options, ...(after ? { after } : {}) });
    if (page.neighbors.length > options.limit) throw new Error("a page exceeded limit");
    pages.push(page.neighbors);
    if (!page.more) return pages;
    const last = page.neighbors.at(-1);
    if (!last) throw new Error("a page with more=true returned no neighbors");
    after = cursorOf(last);
  }
  throw new Error("paging did not end");
}

/** Expects `call` to reject with a PrismError of this kind and reason (and these metadata entries). */
export async function expectPrismError(
  call: Promise<unknown>,
  kind: string,
  reason?: Reason,
  metadata?: Record<string, string>,
): Promise<void> {
  let error: unknown;
  try {
    await call;
  } catch (caught) {
    error = caught;
  }
  if (error === undefined) throw new Error(`expected a ${kind} error, but the call succeeded`);
  if (!isPrismError(error)) throw new Error(`expected a PrismError ${kind}, got ${String(error)}`);
  expect({ kind: error.kind, reason: error.reason }).toEqual({ kind, reason: reason ?? error.reason });
  if (metadata) expect(error.metadata).toMatchObject(metadata);
}

/**
 * Breadth-first depths computed in the test, the reference the backends are held to: follows
 * edges per `direction` with one of `edgeLabels` (empty = all); nodes whose label is not in
 * `nodeLabels` (empty = all) are neither reached nor expanded, except the start.
 */
export function referenceDepths(
  nodes: GraphNode[],
  edges: GraphEdge[],
  startId: string,
  options: { direction: Direction; maxDepth: number; edgeLabels?: string[]; nodeLabels?: string[] },
): Map<string, number> {
  const labelOf = new Map(nodes.map((n) => [n.id, n.label]));
  const edgeLabels = options.edgeLabels ?? [];
  const nodeLabels = options.nodeLabels ?? [];
  const depths = new Map([[startId, 0]]);
  let frontier = [startId];
  for (let depth = 1; depth <= options.maxDepth && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const other of hops(edges, id, options.direction, edgeLabels)) {
        if (depths.has(other)) continue;
        if (nodeLabels.length > 0 && !nodeLabels.includes(labelOf.get(other) ?? "")) continue;
        depths.set(other, depth);
        next.push(other);
      }
    }
    frontier = next;
  }
  return depths;
}

/** The nodes one hop from `id`, following edges per `direction` with one of `edgeLabels` (empty = all). */
export function hops(edges: GraphEdge[], id: string, direction: Direction, edgeLabels: string[]): string[] {
  const result: string[] = [];
  for (const e of edges) {
    if (edgeLabels.length > 0 && !edgeLabels.includes(e.label)) continue;
    if (direction !== "in" && e.fromId === id) result.push(e.toId);
    if (direction !== "out" && e.toId === id) result.push(e.fromId);
  }
  return result;
}

/** True when `e` leads from `from` to `to` when followed per `direction`. */
export function follows(e: GraphEdge, from: string, to: string, direction: Direction): boolean {
  const forward = e.fromId === from && e.toId === to;
  const backward = e.toId === from && e.fromId === to;
  return direction === "out" ? forward : direction === "in" ? backward : forward || backward;
}

/** A fired signal whose reason is a cancellation. */
export const cancelledSignal = (): AbortSignal => AbortSignal.abort();

/** A fired signal whose reason is a timeout. */
export function timedOutSignal(): AbortSignal {
  const reason = new Error("deadline");
  reason.name = "TimeoutError";
  return AbortSignal.abort(reason);
}
