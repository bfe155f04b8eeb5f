import { createHash } from "node:crypto";
import { PrismError } from "./errors.js";

/**
 * The opaque cursors of whole-namespace scans (`TimeSeriesBackend.scan`, `GraphBackend.scanNodes`
 * and `scanEdges`): base64url of the JSON `[kind, namespace tag, ...fields]`. The kind names the
 * backend, the scan and the format version (`"sqlite-scan-1"`), so a cursor of another scan, or of
 * an older format, is refused rather than misread; the tag binds it to its namespace without
 * spelling the namespace out. Every field is a string: numbers travel in decimal and are checked
 * on the way back with {@link scanCursorInteger}.
 */

/** The longest cursor a scan contract allows (characters; base64url is ASCII). */
const MAX_CURSOR_CHARS = 4096;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * A cursor of this kind and namespace holding `fields`. Callers keep the fields small: a cursor
 * longer than 4096 characters is refused on the way back.
 *
 * @example encodeScanCursor("sqlite-nodes-1", "demo-graph", [lastNode.id])
 */
export function encodeScanCursor(kind: string, namespace: string, fields: readonly string[]): string {
  return Buffer.from(JSON.stringify([kind, namespaceTag(namespace), ...fields])).toString("base64url");
}

/**
 * The fields of a cursor of {@link encodeScanCursor} with this kind and namespace: exactly `count`
 * strings. Anything else (another kind or namespace, another field count, a field that is no
 * string, too long, not base64url, not JSON) is {@link invalidScanCursor}.
 *
 * @example const [afterId] = decodeScanCursor("sqlite-nodes-1", "demo-graph", options.cursor, 1)
 */
export function decodeScanCursor(kind: string, namespace: string, cursor: string, count: number): string[] {
  let parts: unknown;
  try {
    if (cursor.length <= MAX_CURSOR_CHARS && /^[\w-]+$/.test(cursor)) {
      parts = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    }
  } catch {
    // Not JSON: refused below.
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== count + 2 ||
    parts[0] !== kind ||
    parts[1] !== namespaceTag(namespace) ||
    !parts.every((part) => typeof part === "string")
  ) {
    throw invalidScanCursor();
  }
  return parts.slice(2) as string[];
}

/**
 * The integer a cursor field spells in decimal, when it lies in `[min, max]`;
 * {@link invalidScanCursor} otherwise.
 *
 * @example const partition = Number(scanCursorInteger(fields[1], 0n, BigInt(partitions - 1)))
 */
export function scanCursorInteger(field: string, min: bigint, max: bigint): bigint {
  const value = /^-?\d{1,20}$/.test(field) ? BigInt(field) : undefined;
  if (value === undefined || value < min || value > max) throw invalidScanCursor();
  return value;
}

/**
 * The one error for a cursor that is malformed or belongs to another scan or namespace; callers
 * throw it too when a well-formed cursor holds a state that cannot be.
 *
 * @example if (nextSeq > lastSeq) throw invalidScanCursor()
 */
export function invalidScanCursor(): PrismError {
  return new PrismError("InvalidArgument", "cursor is not a scan cursor of this namespace", {
    reason: "INVALID_PAGE_TOKEN",
    field: "cursor",
  });
}

/** Where a time-series scan in (series id, time, event id) order stands: the last event returned. */
export interface SeriesScanPosition {
  seriesId: string;
  eventTimeUs: bigint;
  eventId: string;
}

/**
 * A cursor after `last`, for backends whose scan reads in (series id, time, event id) order.
 *
 * @example encodeSeriesScanCursor("sqlite-scan-1", "demo-ts", page.at(-1)!)
 */
export function encodeSeriesScanCursor(
  kind: string,
  namespace: string,
  last: { seriesId: string; event: { eventTimeUs: bigint; eventId: string } },
): string {
  const { seriesId, event } = last;
  return encodeScanCursor(kind, namespace, [seriesId, String(event.eventTimeUs), event.eventId]);
}

/**
 * The position a cursor of {@link encodeSeriesScanCursor} holds, undefined for no cursor (a scan
 * from the start); INVALID_PAGE_TOKEN for anything else.
 *
 * @example const after = decodeSeriesScanCursor("sqlite-scan-1", "demo-ts", options.cursor)
 */
export function decodeSeriesScanCursor(
  kind: string,
  namespace: string,
  cursor: string | undefined,
): SeriesScanPosition | undefined {
  if (cursor === undefined) return undefined;
  const [seriesId, time, eventId] = decodeScanCursor(kind, namespace, cursor, 3) as [string, string, string];
  return { seriesId, eventTimeUs: scanCursorInteger(time, INT64_MIN, INT64_MAX), eventId };
}

/** Binds a cursor to its namespace without spelling the namespace out. */
function namespaceTag(namespace: string): string {
  return createHash("sha256").update(namespace).digest("base64url").slice(0, 12);
}
