import type {
  Direction as BackendDirection,
  EdgeRef,
  GraphEdge,
  GraphNode,
  PropertyValue,
} from "@prism/core";
import {
  Direction,
  type Edge,
  type EdgeRef as EdgeRefMessage,
  type Node,
  type Value,
} from "@prism/proto/prism/graph/v1/graph";
import type { GraphSettings } from "../../config/gateway-config.js";
import { invalid } from "../keyvalue/validate.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Node ids: non-empty UTF-8 up to the configured bytes, without control characters. */
export function checkNodeId(id: string, field: string, settings: GraphSettings): string {
  if (id.length === 0) throw invalid(field, "is required", "NODE_ID_REQUIRED");
  if (Buffer.byteLength(id) > settings.maxNodeIdBytes || CONTROL.test(id)) {
    throw invalid(
      field,
      `must be at most ${settings.maxNodeIdBytes} bytes without control characters`,
      "INVALID_NODE_ID",
    );
  }
  return id;
}

export function checkNodeIds(ids: string[], settings: GraphSettings): void {
  for (const [i, id] of ids.entries()) checkNodeId(id, `ids[${i}]`, settings);
}

export function checkLabel(label: string, field: string, settings: GraphSettings): string {
  if (label.length === 0 || Buffer.byteLength(label) > settings.maxLabelBytes || CONTROL.test(label)) {
    throw invalid(
      field,
      `must be 1-${settings.maxLabelBytes} bytes without control characters`,
      "INVALID_LABEL",
    );
  }
  return label;
}

/** A batch's size: at least one, at most the configured count. */
export function checkCount(count: number, field: string, settings: GraphSettings): void {
  if (count === 0) throw invalid(field, "must hold at least one entry", "INVALID_ARGUMENT");
  if (count > settings.maxItemsPerRequest) {
    throw invalid(field, `at most ${settings.maxItemsPerRequest} per request`, "TOO_MANY_ITEMS");
  }
}

/** Typed properties: bounded names, count and sizes; doubles must be finite. */
export function toProperties(
  properties: Record<string, Value>,
  field: string,
  settings: GraphSettings,
): Record<string, PropertyValue> {
  const names = Object.keys(properties);
  if (names.length > settings.maxPropertiesPerItem) {
    throw invalid(field, `at most ${settings.maxPropertiesPerItem} properties`, "INVALID_PROPERTY");
  }
  const result: Record<string, PropertyValue> = {};
  for (const name of names) {
    const at = `${field}[${JSON.stringify(name.slice(0, 64))}]`;
    if (name.length === 0 || Buffer.byteLength(name) > settings.maxPropertyNameBytes || CONTROL.test(name)) {
      throw invalid(
        at,
        `property names must be 1-${settings.maxPropertyNameBytes} bytes without control characters`,
        "INVALID_PROPERTY",
      );
    }
    const { kind } = properties[name]!;
    switch (kind.case) {
      case "stringValue":
      case "bytesValue": {
        const size = typeof kind.value === "string" ? Buffer.byteLength(kind.value) : kind.value.length;
        if (size > settings.maxPropertyValueBytes) {
          throw invalid(
            at,
            `is ${size} bytes; at most ${settings.maxPropertyValueBytes}`,
            "INVALID_PROPERTY",
          );
        }
        result[name] = kind.value;
        break;
      }
      case "doubleValue":
        if (!Number.isFinite(kind.value)) {
          throw invalid(at, "NaN and infinities are not stored; send a finite double", "INVALID_PROPERTY");
        }
        result[name] = kind.value;
        break;
      case "intValue":
      case "boolValue":
        result[name] = kind.value;
        break;
      default:
        throw invalid(at, "has no value (set one of string, int, double, bool, bytes)", "INVALID_PROPERTY");
    }
  }
  return result;
}

export function toNode(node: Node, field: string, settings: GraphSettings): GraphNode {
  return {
    id: checkNodeId(node.id, `${field}.id`, settings),
    label: checkLabel(node.label, `${field}.label`, settings),
    properties: toProperties(node.properties, `${field}.properties`, settings),
  };
}

export function toEdge(edge: Edge, field: string, settings: GraphSettings): GraphEdge {
  return {
    ...toEdgeRef(edge, field, settings),
    properties: toProperties(edge.properties, `${field}.properties`, settings),
  };
}

export function toEdgeRef(edge: EdgeRefMessage | Edge, field: string, settings: GraphSettings): EdgeRef {
  return {
    fromId: checkNodeId(edge.fromId, `${field}.from_id`, settings),
    toId: checkNodeId(edge.toId, `${field}.to_id`, settings),
    label: checkLabel(edge.label, `${field}.label`, settings),
  };
}

export function checkLabels(labels: string[], field: string, settings: GraphSettings): string[] {
  if (labels.length > settings.maxItemsPerRequest) {
    throw invalid(field, `at most ${settings.maxItemsPerRequest} labels`, "TOO_MANY_ITEMS");
  }
  for (const [i, label] of labels.entries()) checkLabel(label, `${field}[${i}]`, settings);
  return labels;
}

/** The wire direction; unspecified means `out`. */
export function toDirection(direction: Direction): BackendDirection {
  switch (direction) {
    case Direction.IN:
      return "in";
    case Direction.BOTH:
      return "both";
    default:
      return "out";
  }
}

export function toValue(value: PropertyValue): Value {
  const kind: Value["kind"] =
    typeof value === "string"
      ? { case: "stringValue", value }
      : typeof value === "bigint"
        ? { case: "intValue", value }
        : typeof value === "number"
          ? { case: "doubleValue", value }
          : typeof value === "boolean"
            ? { case: "boolValue", value }
            : { case: "bytesValue", value };
  return { $typeName: "prism.graph.v1.Value", kind };
}

export function toNodeMessage(node: GraphNode): Node {
  return {
    $typeName: "prism.graph.v1.Node",
    id: node.id,
    label: node.label,
    properties: toValues(node.properties),
  };
}

export function toEdgeMessage(edge: GraphEdge): Edge {
  return {
    $typeName: "prism.graph.v1.Edge",
    fromId: edge.fromId,
    toId: edge.toId,
    label: edge.label,
    properties: toValues(edge.properties),
  };
}

function toValues(properties: Record<string, PropertyValue>): Record<string, Value> {
  const values: Record<string, Value> = {};
  for (const [name, value] of Object.entries(properties)) values[name] = toValue(value);
  return values;
}
