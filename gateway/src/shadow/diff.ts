import { createHash } from "node:crypto";
import type { GraphEdge, GraphNode, KvItem, Neighbor, PropertyValue, TsEvent } from "@prism/core";

/**
 * Differences between a primary's and a shadow's answers, as operator-facing summaries: counts,
 * positions, lengths and which part differs — never a value, key bytes or a property value (a
 * summary may be shown to operators who may not see PII). `undefined` = equal.
 */
export function diffItems(primary: readonly KvItem[], shadow: readonly KvItem[]): string | undefined {
  const length = Math.max(primary.length, shadow.length);
  for (let i = 0; i < length; i++) {
    const p = primary[i];
    const s = shadow[i];
    if (!p || !s) return `items: primary ${primary.length}, shadow ${shadow.length}`;
    if (!sameBytes(p.key, s.key))
      return `item ${i}: keys differ (${primary.length} vs ${shadow.length} items)`;
    if (!sameBytes(p.value, s.value))
      return `item ${i}: values differ (${p.value.length} vs ${s.value.length} bytes)`;
    if ((p.expiresAt ?? 0) !== (s.expiresAt ?? 0)) return `item ${i}: expiry differs`;
  }
  return undefined;
}

export function diffEvents(primary: readonly TsEvent[], shadow: readonly TsEvent[]): string | undefined {
  const length = Math.max(primary.length, shadow.length);
  for (let i = 0; i < length; i++) {
    const p = primary[i];
    const s = shadow[i];
    if (!p || !s) return `events: primary ${primary.length}, shadow ${shadow.length}`;
    if (p.eventTimeUs !== s.eventTimeUs || p.eventId !== s.eventId) return `event ${i}: identity differs`;
    if (!sameBytes(p.payload, s.payload))
      return `event ${i}: payloads differ (${p.payload.length} vs ${s.payload.length} bytes)`;
    if (tagsKey(p.tags) !== tagsKey(s.tags)) return `event ${i}: tags differ`;
  }
  return undefined;
}

export function diffNodes(primary: readonly GraphNode[], shadow: readonly GraphNode[]): string | undefined {
  const length = Math.max(primary.length, shadow.length);
  for (let i = 0; i < length; i++) {
    const p = primary[i];
    const s = shadow[i];
    if (!p || !s) return `nodes: primary ${primary.length}, shadow ${shadow.length}`;
    if (p.id !== s.id) return `node ${i}: ids differ`;
    if (p.label !== s.label) return `node ${i}: labels differ`;
    const properties = diffProperties(p.properties, s.properties);
    if (properties) return `node ${i}: ${properties}`;
  }
  return undefined;
}

export function diffNeighbors(
  primary: { neighbors: readonly Neighbor[]; more: boolean },
  shadow: { neighbors: readonly Neighbor[]; more: boolean },
): string | undefined {
  const p = primary.neighbors;
  const s = shadow.neighbors;
  const length = Math.max(p.length, s.length);
  for (let i = 0; i < length; i++) {
    const a = p[i];
    const b = s[i];
    if (!a || !b) return `neighbors: primary ${p.length}, shadow ${s.length}`;
    if (a.direction !== b.direction || edgeKey(a.edge) !== edgeKey(b.edge))
      return `neighbor ${i}: edge differs`;
    const edge = diffProperties(a.edge.properties, b.edge.properties);
    if (edge) return `neighbor ${i}: edge ${edge}`;
    const node = diffNodes([a.node], [b.node]);
    if (node) return `neighbor ${i}: ${node}`;
  }
  return primary.more === shadow.more ? undefined : "neighbors: paging differs";
}

function diffProperties(
  primary: Record<string, PropertyValue>,
  shadow: Record<string, PropertyValue>,
): string | undefined {
  const names = new Set([...Object.keys(primary), ...Object.keys(shadow)]);
  for (const name of [...names].sort()) {
    if (!(name in primary) || !(name in shadow)) return "property sets differ";
    if (!sameProperty(primary[name]!, shadow[name]!)) return "a property value differs";
  }
  return undefined;
}

function sameProperty(a: PropertyValue, b: PropertyValue): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array)
    return a instanceof Uint8Array && b instanceof Uint8Array && sameBytes(a, b);
  return typeof a === typeof b && a === b;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** The identity of an edge: (fromId, toId, label). */
export function edgeKey(edge: { fromId: string; toId: string; label: string }): string {
  return `${edge.fromId}\u0000${edge.toId}\u0000${edge.label}`;
}

function tagsKey(tags: Record<string, string>): string {
  return JSON.stringify(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * A short digest of a record's content, for verification maps: equal content, equal digest.
 * Property and tag order do not matter; types do (1n and 1.0 differ).
 */
export function digestOf(parts: readonly (string | Uint8Array | undefined)[]): string {
  const hash = createHash("sha256");
  for (const part of parts) {
    if (part === undefined) {
      hash.update("\u0002");
      continue;
    }
    const bytes = typeof part === "string" ? Buffer.from(part) : part;
    hash.update(String(bytes.length));
    hash.update("\u0001");
    hash.update(bytes);
  }
  return hash.digest("base64url").slice(0, 22);
}

export function eventDigest(event: TsEvent): string {
  return digestOf([String(event.eventTimeUs), event.eventId, event.payload, tagsKey(event.tags)]);
}

export function nodeDigest(node: GraphNode): string {
  return digestOf([node.id, node.label, ...propertyParts(node.properties)]);
}

export function edgeDigest(edge: GraphEdge): string {
  return digestOf([edgeKey(edge), ...propertyParts(edge.properties)]);
}

function propertyParts(properties: Record<string, PropertyValue>): (string | Uint8Array)[] {
  const parts: (string | Uint8Array)[] = [];
  for (const name of Object.keys(properties).sort()) {
    const value = properties[name]!;
    parts.push(name, typeof value, value instanceof Uint8Array ? value : String(value));
  }
  return parts;
}
