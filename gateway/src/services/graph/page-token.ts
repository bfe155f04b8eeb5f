import type { Direction, NeighborCursor } from "@prism/core";
import { Fingerprint, foreignToken, malformedToken, tokenBytes } from "../page-tokens.js";

const TOKEN_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** What a Neighbors page token binds to. */
export interface NeighborsShape {
  namespace: string;
  nodeId: string;
  direction: Direction;
  edgeLabels: string[];
}

/**
 * Neighbors page tokens: base64url of [version][fingerprint u32][direction][id length u32][id][label].
 * The fingerprint binds a token to the namespace, node, direction and label filter it came from.
 */
export function encodeNeighborsToken(shape: NeighborsShape, cursor: NeighborCursor): string {
  const id = encoder.encode(cursor.nodeId);
  const label = encoder.encode(cursor.label);
  const bytes = Buffer.alloc(10 + id.length + label.length);
  bytes[0] = TOKEN_VERSION;
  bytes.writeUInt32BE(fingerprint(shape), 1);
  bytes[5] = cursor.direction === "out" ? 0 : 1;
  bytes.writeUInt32BE(id.length, 6);
  bytes.set(id, 10);
  bytes.set(label, 10 + id.length);
  return bytes.toString("base64url");
}

export function decodeNeighborsToken(token: string, shape: NeighborsShape): NeighborCursor {
  const bytes = tokenBytes(token, "page_token", 4096);
  if (bytes.length < 10 || bytes[0] !== TOKEN_VERSION || bytes[5]! > 1) throw malformedToken("page_token");
  if (bytes.readUInt32BE(1) !== fingerprint(shape)) {
    throw foreignToken("page_token", "namespace, node, direction or label filter");
  }
  const idLength = bytes.readUInt32BE(6);
  if (10 + idLength > bytes.length) throw malformedToken("page_token");
  try {
    return {
      direction: bytes[5] === 0 ? "out" : "in",
      nodeId: decoder.decode(bytes.subarray(10, 10 + idLength)),
      label: decoder.decode(bytes.subarray(10 + idLength)),
    };
  } catch {
    throw malformedToken("page_token");
  }
}

/** The fingerprint of the shape, labels in sorted order. */
function fingerprint(shape: NeighborsShape): number {
  const hash = new Fingerprint().text(shape.namespace).text(shape.nodeId).text(shape.direction);
  for (const label of [...shape.edgeLabels].sort()) hash.text(label);
  return hash.value;
}
