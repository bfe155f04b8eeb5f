import {
  decodeScanCursor,
  type EdgeRef,
  encodeScanCursor,
  type GraphEdge,
  type GraphNode,
  type GraphScanOptions,
  throwIfAborted,
} from "@prism/core";
import gremlin from "gremlin";
import type { GremlinLink } from "./gremlin-link.js";
import type { Layout } from "./layout.js";
import { decodeEdge, decodeNode, elementRow } from "./rows.js";

const { t, P } = gremlin.process;

/** The edges found by (fromId, toId, label), in request order, a repeated ref once: one `g.E(ids)`. */
export async function getEdges(
  link: GremlinLink,
  layout: Layout,
  namespace: string,
  refs: EdgeRef[],
  signal: AbortSignal | undefined,
): Promise<GraphEdge[]> {
  throwIfAborted(signal);
  if (refs.length === 0) return [];
  const edgeIds = [...new Set(refs.map((ref) => layout.edgeId(namespace, ref)))];
  const rows = await link.run(signal, (g) => g.E(...edgeIds).flatMap(elementRow()));
  const byId = new Map(
    rows
      .map((row) => decodeEdge(layout, namespace, row))
      .map((edge) => [layout.edgeId(namespace, edge), edge]),
  );
  return edgeIds.flatMap((id) => byId.get(id) ?? []);
}

/**
 * One page of a namespace's vertices, in the server's order of their ids (every id of a namespace
 * starts alike, so this is node id order as Gremlin compares strings), after the cursor's. The
 * server finds the namespace's vertices by `<prefix>_ns`, filters and orders them for each page:
 * no Gremlin server keeps its ids in a range index, so a page costs a pass over the namespace.
 */
export async function scanNodes(
  link: GremlinLink,
  layout: Layout,
  namespace: string,
  { cursor, limit, signal }: GraphScanOptions,
): Promise<{ nodes: GraphNode[]; cursor?: string }> {
  throwIfAborted(signal);
  const after =
    cursor === undefined
      ? undefined
      : layout.vertexId(namespace, decodeScanCursor(NODE_CURSOR, namespace, cursor, 1)[0]!);
  const rows = await link.run(signal, (g) => {
    const vertices = g.V().has(layout.keys.ns, namespace);
    return (after === undefined ? vertices : vertices.hasId(P.gt(after)))
      .order()
      .by(t.id)
      .limit(limit + 1)
      .flatMap(elementRow());
  });
  const nodes = rows.slice(0, limit).map((row) => decodeNode(layout, namespace, row));
  const last = nodes.at(-1);
  return rows.length > limit && last
    ? { nodes, cursor: encodeScanCursor(NODE_CURSOR, namespace, [last.id]) }
    : { nodes };
}

/** As {@link scanNodes}, for edges: in the server's order of their ids, after the cursor's. */
export async function scanEdges(
  link: GremlinLink,
  layout: Layout,
  namespace: string,
  { cursor, limit, signal }: GraphScanOptions,
): Promise<{ edges: GraphEdge[]; cursor?: string }> {
  throwIfAborted(signal);
  const [fromId, toId, label] =
    cursor === undefined ? [] : decodeScanCursor(EDGE_CURSOR, namespace, cursor, 3);
  const after =
    fromId === undefined ? undefined : layout.edgeId(namespace, { fromId, toId: toId!, label: label! });
  const rows = await link.run(signal, (g) => {
    const edges = g.E().has(layout.keys.ns, namespace);
    return (after === undefined ? edges : edges.hasId(P.gt(after)))
      .order()
      .by(t.id)
      .limit(limit + 1)
      .flatMap(elementRow());
  });
  const edges = rows.slice(0, limit).map((row) => decodeEdge(layout, namespace, row));
  const last = edges.at(-1);
  return rows.length > limit && last
    ? { edges, cursor: encodeScanCursor(EDGE_CURSOR, namespace, [last.fromId, last.toId, last.label]) }
    : { edges };
}

/**
 * The kinds of this backend's scan cursors (`@prism/core` `encodeScanCursor`), holding the key of
 * the last node (`[id]`) or edge (`[fromId, toId, label]`) returned. Under 2 KiB: ids are at most
 * 256 bytes, labels 128.
 */
const NODE_CURSOR = "neptune-nodes-1";
const EDGE_CURSOR = "neptune-edges-1";
