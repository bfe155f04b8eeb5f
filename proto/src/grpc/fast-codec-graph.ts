import type {
  Edge,
  GetNodesResponse,
  Neighbor,
  NeighborsResponse,
  Node,
  ShortestPathResponse,
  TraversalStep,
  TraverseResponse,
  Value,
} from "../gen/prism/graph/v1/graph_pb.js";
import { lengthDelimited, Reader, string, varint, varint64, varint64Size, varintSize } from "./wire.js";

/**
 * Hand-written encoders for the Graph answers (ADR-0016): every node and edge carries a
 * `map<string, Value>` of oneof messages, which protobuf-es's reflective `toBinary` encoded at
 * about 25 µs a node — half a millisecond for one Neighbors page of 20. Sizes first, then one
 * buffer written in place.
 */
export function encodeNeighborsResponse(message: NeighborsResponse): Uint8Array {
  let total =
    message.nextPageToken === "" ? 0 : 1 + lengthDelimited(Buffer.byteLength(message.nextPageToken));
  const sizes = message.neighbors.map(({ edge, node }) => neighborSize(edge, node));
  for (const size of sizes) total += 1 + lengthDelimited(size);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < sizes.length; i++) {
    const { edge, node } = message.neighbors[i]!;
    out[at++] = 0x0a;
    at = varint(out, at, sizes[i]!);
    if (edge) at = writeEdge(out, at, 0x0a, edge);
    if (node) at = writeNode(out, at, 0x12, node);
  }
  if (message.nextPageToken !== "") at = string(out, at, 0x12, message.nextPageToken);
  return finished(out, at);
}

export function encodeTraverseResponse(message: TraverseResponse): Uint8Array {
  const sizes = message.steps.map(stepSize);
  let total = 0;
  for (const size of sizes) total += 1 + lengthDelimited(size);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < sizes.length; i++) {
    const step = message.steps[i]!;
    out[at++] = 0x22;
    at = varint(out, at, sizes[i]!);
    const { node, depth, via } = step;
    if (node) at = writeNode(out, at, 0x0a, node);
    if (depth !== 0) {
      out[at++] = 0x10;
      at = varint(out, at, depth);
    }
    if (via) at = writeEdge(out, at, 0x1a, via);
  }
  return finished(out, at);
}

/** Encoded bytes of one step (without its own tag and length). */
export function stepSize({ node, depth, via }: TraversalStep): number {
  return (
    (node ? 1 + lengthDelimited(nodeSize(node)) : 0) +
    (depth === 0 ? 0 : 1 + varintSize(depth)) +
    (via ? 1 + lengthDelimited(edgeSize(via)) : 0)
  );
}

export function encodeGetNodesResponse(message: GetNodesResponse): Uint8Array {
  let total = 0;
  for (const node of message.nodes) total += 1 + lengthDelimited(nodeSize(node));
  for (const id of message.missingIds) total += 1 + lengthDelimited(Buffer.byteLength(id));
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const node of message.nodes) at = writeNode(out, at, 0x0a, node);
  for (const id of message.missingIds) at = string(out, at, 0x12, id);
  return finished(out, at);
}

export function encodeShortestPathResponse(message: ShortestPathResponse): Uint8Array {
  let total = message.found ? 2 : 0;
  for (const node of message.nodes) total += 1 + lengthDelimited(nodeSize(node));
  for (const edge of message.edges) total += 1 + lengthDelimited(edgeSize(edge));
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  if (message.found) {
    out[at++] = 0x08;
    out[at++] = 1;
  }
  for (const node of message.nodes) at = writeNode(out, at, 0x12, node);
  for (const edge of message.edges) at = writeEdge(out, at, 0x1a, edge);
  return finished(out, at);
}

function finished(out: Buffer, at: number): Uint8Array {
  if (at !== out.length) throw new Error(`encoded ${at} bytes, sized ${out.length}`);
  return out;
}

function neighborSize(edge: Edge | undefined, node: Node | undefined): number {
  return (edge ? 1 + lengthDelimited(edgeSize(edge)) : 0) + (node ? 1 + lengthDelimited(nodeSize(node)) : 0);
}

function nodeSize(node: Node): number {
  return stringSize(node.id) + stringSize(node.label) + propertiesSize(node.properties);
}

function edgeSize(edge: Edge): number {
  return (
    stringSize(edge.fromId) + stringSize(edge.toId) + stringSize(edge.label) + propertiesSize(edge.properties)
  );
}

/** A proto3 string field: absent when empty. */
function stringSize(text: string): number {
  return text === "" ? 0 : 1 + lengthDelimited(Buffer.byteLength(text));
}

function propertiesSize(properties: Record<string, Value>): number {
  let size = 0;
  for (const name in properties) size += 1 + lengthDelimited(entrySize(name, properties[name]!));
  return size;
}

/** A map entry: the key, and the value message (written even when empty). */
function entrySize(name: string, value: Value): number {
  return 1 + lengthDelimited(Buffer.byteLength(name)) + 1 + lengthDelimited(valueSize(value));
}

/** A oneof member is written whenever it is set, default value or not. */
function valueSize(value: Value): number {
  const { kind } = value;
  switch (kind.case) {
    case "stringValue":
      return 1 + lengthDelimited(Buffer.byteLength(kind.value));
    case "intValue":
      return 1 + varint64Size(kind.value);
    case "doubleValue":
      return 9;
    case "boolValue":
      return 2;
    case "bytesValue":
      return 1 + lengthDelimited(kind.value.length);
    default:
      return 0;
  }
}

function writeNode(out: Buffer, at: number, tag: number, node: Node): number {
  out[at++] = tag;
  at = varint(out, at, nodeSize(node));
  if (node.id !== "") at = string(out, at, 0x0a, node.id);
  if (node.label !== "") at = string(out, at, 0x12, node.label);
  return writeProperties(out, at, 0x1a, node.properties);
}

function writeEdge(out: Buffer, at: number, tag: number, edge: Edge): number {
  out[at++] = tag;
  at = varint(out, at, edgeSize(edge));
  if (edge.fromId !== "") at = string(out, at, 0x0a, edge.fromId);
  if (edge.toId !== "") at = string(out, at, 0x12, edge.toId);
  if (edge.label !== "") at = string(out, at, 0x1a, edge.label);
  return writeProperties(out, at, 0x22, edge.properties);
}

function writeProperties(out: Buffer, at: number, tag: number, properties: Record<string, Value>): number {
  for (const name in properties) {
    const value = properties[name]!;
    out[at++] = tag;
    at = varint(out, at, entrySize(name, value));
    at = string(out, at, 0x0a, name);
    out[at++] = 0x12;
    at = varint(out, at, valueSize(value));
    at = writeValue(out, at, value);
  }
  return at;
}

function writeValue(out: Buffer, at: number, value: Value): number {
  const { kind } = value;
  switch (kind.case) {
    case "stringValue":
      return string(out, at, 0x0a, kind.value);
    case "intValue":
      out[at++] = 0x10;
      return varint64(out, at, kind.value);
    case "doubleValue":
      out[at++] = 0x19;
      out.writeDoubleLE(kind.value, at);
      return at + 8;
    case "boolValue":
      out[at++] = 0x20;
      out[at++] = kind.value ? 1 : 0;
      return at;
    case "bytesValue":
      out[at++] = 0x2a;
      at = varint(out, at, kind.value.length);
      out.set(kind.value, at);
      return at + kind.value.length;
    default:
      return at;
  }
}

/**
 * Decoders for the answers a client reads most (Neighbors pages, Traverse messages): protobuf-es
 * decoded a 1,000-node traversal in about 15 ms, more than the gateway took to find it. Same
 * message objects as protobuf-es; a message field seen twice keeps the last (the gateway never
 * sends one twice); unknown fields are skipped.
 */
export function decodeNeighborsResponse(bytes: Uint8Array): NeighborsResponse {
  const reader = new Reader(bytes);
  const message: NeighborsResponse = {
    $typeName: "prism.graph.v1.NeighborsResponse",
    neighbors: [],
    nextPageToken: "",
  };
  while (reader.at < bytes.length) {
    const tag = reader.varint();
    if (tag === 0x0a) message.neighbors.push(readNeighbor(reader, reader.length()));
    else if (tag === 0x12) message.nextPageToken = reader.string();
    else reader.skip(tag);
  }
  return message;
}

export function decodeTraverseResponse(bytes: Uint8Array): TraverseResponse {
  const reader = new Reader(bytes);
  const message: TraverseResponse = { $typeName: "prism.graph.v1.TraverseResponse", steps: [] };
  while (reader.at < bytes.length) {
    const tag = reader.varint();
    if (tag === 0x22) message.steps.push(readStep(reader, reader.length()));
    else reader.skip(tag);
  }
  return message;
}

function readNeighbor(reader: Reader, length: number): Neighbor {
  const end = reader.at + length;
  const neighbor: Neighbor = { $typeName: "prism.graph.v1.Neighbor", edge: undefined, node: undefined };
  while (reader.at < end) {
    const tag = reader.varint();
    if (tag === 0x0a) neighbor.edge = readEdge(reader, reader.length());
    else if (tag === 0x12) neighbor.node = readNode(reader, reader.length());
    else reader.skip(tag);
  }
  return ended(reader, end, neighbor);
}

function readStep(reader: Reader, length: number): TraversalStep {
  const end = reader.at + length;
  const step: TraversalStep = {
    $typeName: "prism.graph.v1.TraversalStep",
    node: undefined,
    depth: 0,
    via: undefined,
  };
  while (reader.at < end) {
    const tag = reader.varint();
    if (tag === 0x0a) step.node = readNode(reader, reader.length());
    else if (tag === 0x10) step.depth = reader.varint();
    else if (tag === 0x1a) step.via = readEdge(reader, reader.length());
    else reader.skip(tag);
  }
  return ended(reader, end, step);
}

function readNode(reader: Reader, length: number): Node {
  const end = reader.at + length;
  const node: Node = { $typeName: "prism.graph.v1.Node", id: "", label: "", properties: {} };
  while (reader.at < end) {
    const tag = reader.varint();
    if (tag === 0x0a) node.id = reader.string();
    else if (tag === 0x12) node.label = reader.string();
    else if (tag === 0x1a) readProperty(reader, reader.length(), node.properties);
    else reader.skip(tag);
  }
  return ended(reader, end, node);
}

function readEdge(reader: Reader, length: number): Edge {
  const end = reader.at + length;
  const edge: Edge = { $typeName: "prism.graph.v1.Edge", fromId: "", toId: "", label: "", properties: {} };
  while (reader.at < end) {
    const tag = reader.varint();
    if (tag === 0x0a) edge.fromId = reader.string();
    else if (tag === 0x12) edge.toId = reader.string();
    else if (tag === 0x1a) edge.label = reader.string();
    else if (tag === 0x22) readProperty(reader, reader.length(), edge.properties);
    else reader.skip(tag);
  }
  return ended(reader, end, edge);
}

/** One map entry; a missing key is "", a missing value the empty Value, a repeated key overwrites. */
function readProperty(reader: Reader, length: number, properties: Record<string, Value>): void {
  const end = reader.at + length;
  let key = "";
  let value: Value | undefined;
  while (reader.at < end) {
    const tag = reader.varint();
    if (tag === 0x0a) key = reader.string();
    else if (tag === 0x12) value = readValue(reader, reader.length());
    else reader.skip(tag);
  }
  ended(reader, end, undefined);
  properties[key] = value ?? { $typeName: "prism.graph.v1.Value", kind: { case: undefined } };
}

function readValue(reader: Reader, length: number): Value {
  const end = reader.at + length;
  const value: Value = { $typeName: "prism.graph.v1.Value", kind: { case: undefined } };
  while (reader.at < end) {
    const tag = reader.varint();
    if (tag === 0x0a) value.kind = { case: "stringValue", value: reader.string() };
    else if (tag === 0x10) value.kind = { case: "intValue", value: BigInt.asIntN(64, reader.varint64()) };
    else if (tag === 0x19) value.kind = { case: "doubleValue", value: reader.double() };
    else if (tag === 0x20) value.kind = { case: "boolValue", value: reader.varint64() !== 0n };
    else if (tag === 0x2a) value.kind = { case: "bytesValue", value: reader.bytes().slice() };
    else reader.skip(tag);
  }
  return ended(reader, end, value);
}

function ended<T>(reader: Reader, end: number, message: T): T {
  if (reader.at !== end) throw new Error("premature end of a nested message");
  return message;
}
