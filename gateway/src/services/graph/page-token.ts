import { type Direction, type NeighborCursor, PrismError } from "@prism/core";

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
  const bytes =
    token.length <= 4096 && /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, "base64url") : undefined;
  if (!bytes || bytes.length < 10 || bytes[0] !== TOKEN_VERSION || bytes[5]! > 1) throw malformed();
  if (bytes.readUInt32BE(1) !== fingerprint(shape)) {
    throw new PrismError(
      "InvalidArgument",
      "page_token belongs to a different namespace, node, direction or label filter",
      { reason: "INVALID_PAGE_TOKEN", field: "page_token" },
    );
  }
  const idLength = bytes.readUInt32BE(6);
  if (10 + idLength > bytes.length) throw malformed();
  try {
    return {
      direction: bytes[5] === 0 ? "out" : "in",
      nodeId: decoder.decode(bytes.subarray(10, 10 + idLength)),
      label: decoder.decode(bytes.subarray(10 + idLength)),
    };
  } catch {
    throw malformed();
  }
}

function malformed(): PrismError {
  return new PrismError(
    "InvalidArgument",
    "page_token is malformed; pass back the value a previous response returned",
    { reason: "INVALID_PAGE_TOKEN", field: "page_token" },
  );
}

/** FNV-1a over the shape, labels in sorted order. */
function fingerprint(shape: NeighborsShape): number {
  let hash = 0x811c9dc5;
  const mix = (text: string) => {
    for (const byte of encoder.encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    hash = Math.imul(hash ^ 0xff, 0x01000193) >>> 0;
  };
  mix(shape.namespace);
  mix(shape.nodeId);
  mix(shape.direction);
  for (const label of [...shape.edgeLabels].sort()) mix(label);
  return hash;
}
