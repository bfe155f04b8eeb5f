import { type GraphEdge, type GraphNode, PrismError } from "@prism/core";
import gremlin from "gremlin";
import type { Layout } from "./layout.js";
import { decodeProperties } from "./property-encoding.js";

const __ = gremlin.process.statics;
const { t } = gremlin.process;

/**
 * Projections every read uses, and their decoding. Elements are read with explicit projections
 * (`id`, `valueMap()`) rather than returned whole: Neptune returns vertices and edges without
 * their properties.
 */
export function elementRow(): gremlin.process.GraphTraversal {
  return __.project("i", "p").by(t.id).by(__.valueMap());
}

/** A field of a `project(...)` row (the driver returns maps as `Map`). */
export function field(row: unknown, key: string): unknown {
  return row instanceof Map ? row.get(key) : undefined;
}

/** The list a `fold()` produced. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function decodeNode(layout: Layout, namespace: string, row: unknown): GraphNode {
  const values = field(row, "p");
  const label = values instanceof Map ? first(values.get(layout.keys.label)) : undefined;
  if (typeof label !== "string") throw corrupt(`a vertex of namespace ${namespace} has no label`);
  return {
    id: layout.nodeId(namespace, String(field(row, "i"))),
    label,
    properties: decodeProperties(values),
  };
}

export function decodeEdge(layout: Layout, namespace: string, row: unknown): GraphEdge {
  const ref = layout.edgeRef(namespace, String(field(row, "i")));
  return { ...ref, properties: decodeProperties(field(row, "p")) };
}

function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

function corrupt(message: string): PrismError {
  return new PrismError("Internal", message, { reason: "CORRUPT_VALUE" });
}
