import type { EdgeRef } from "@prism/core";

/**
 * Where Prism's nodes and edges sit in the one Gremlin graph (ADR 0015). Every id starts with
 * `<prefix>:<namespace>:`, so `g.V(id)` / `g.E(id)` (the fast path on Neptune and TinkerGraph)
 * never reaches another namespace; edges only join vertices of their own namespace, so walking
 * them never leaves it either.
 *
 * - Vertex: id `<prefix>:<ns>:<node id>`, Gremlin label `<prefix>` (a node's label is a property:
 *   Gremlin labels cannot change, and an upsert may change the label), properties
 *   `<prefix>_ns`, `<prefix>_label` and the node's typed properties (`property-encoding.ts`).
 * - Edge: id `<prefix>:<ns>:["<from>","<label>","<to>"]`, Gremlin label = the edge label,
 *   properties `<prefix>_ns`, the two sort keys below and the edge's typed properties.
 */
export class Layout {
  /** The Gremlin label of every Prism vertex. */
  readonly vertexLabel: string;
  /** Bookkeeping property keys; user property keys always have a `:` second (never clash). */
  readonly keys: { ns: string; label: string; outKey: string; inKey: string };

  constructor(readonly prefix: string) {
    this.vertexLabel = prefix;
    this.keys = {
      ns: `${prefix}_ns`,
      label: `${prefix}_label`,
      outKey: `${prefix}_ok`,
      inKey: `${prefix}_ik`,
    };
  }

  vertexId(namespace: string, nodeId: string): string {
    return `${this.prefix}:${namespace}:${nodeId}`;
  }

  /** The node id of a vertex id of `namespace` (namespaces have no `:`, so the split is exact). */
  nodeId(namespace: string, vertexId: string): string {
    return vertexId.slice(this.prefix.length + namespace.length + 2);
  }

  edgeId(namespace: string, edge: EdgeRef): string {
    return `${this.prefix}:${namespace}:${JSON.stringify([edge.fromId, edge.label, edge.toId])}`;
  }

  /** The (from, label, to) an edge id was made of. */
  edgeRef(namespace: string, edgeId: string): EdgeRef {
    const [fromId, label, toId] = JSON.parse(
      edgeId.slice(this.prefix.length + namespace.length + 2),
    ) as string[];
    return { fromId: fromId ?? "", label: label ?? "", toId: toId ?? "" };
  }
}

/**
 * The Neighbors order key of an edge seen from one end: the other node's id and the edge label,
 * each as hex of its UTF-8 bytes, joined by `.`. Gremlin compares strings in UTF-16 order, which
 * differs from UTF-8 byte order above U+FFFF; hex digits compare like the bytes they spell, and
 * `.` sorts below every hex digit, so comparing keys compares (id, label) in UTF-8 byte order.
 *
 * @example sortKey("b", "knows") === "62.6b6e6f7773"
 */
export function sortKey(otherNodeId: string, label: string): string {
  return `${Buffer.from(otherNodeId, "utf8").toString("hex")}.${Buffer.from(label, "utf8").toString("hex")}`;
}
