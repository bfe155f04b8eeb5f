import { PrismError } from "@prism/core";

const TOKEN_VERSION = 1;
const HEADER_BYTES = 1 + 4 + 8 + 8;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** What a Read page token binds to: the request's shape. Its `endUs` is fixed by the first page. */
export interface ReadShape {
  namespace: string;
  seriesId: string;
  startUs: bigint;
  /** The client's end, or undefined when it asked for "until now". */
  requestedEndUs: bigint | undefined;
  descending: boolean;
  tagFilter: Record<string, string>;
}

/** Where a Read continues: the range's end as the first page fixed it, and the last event answered. */
export interface ReadPosition {
  endUs: bigint;
  after: { eventTimeUs: bigint; eventId: string };
}

/**
 * Read page tokens: base64url of [version][fingerprint u32][end i64][last time i64][last id].
 * The fingerprint binds a token to the namespace, series, range and filter it came from; the end
 * travels in the token so that "until now" means the same instant on every page.
 */
export function encodeReadToken(shape: ReadShape, position: ReadPosition): string {
  const id = encoder.encode(position.after.eventId);
  const bytes = Buffer.alloc(HEADER_BYTES + id.length);
  bytes[0] = TOKEN_VERSION;
  bytes.writeUInt32BE(fingerprint(shape), 1);
  bytes.writeBigInt64BE(position.endUs, 5);
  bytes.writeBigInt64BE(position.after.eventTimeUs, 13);
  bytes.set(id, HEADER_BYTES);
  return bytes.toString("base64url");
}

/** The position a token resumes at, or InvalidArgument for a token that is not ours or not for this request. */
export function decodeReadToken(token: string, shape: ReadShape): ReadPosition {
  const bytes =
    token.length <= 8192 && /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, "base64url") : undefined;
  if (!bytes || bytes.length <= HEADER_BYTES || bytes[0] !== TOKEN_VERSION) throw malformed();
  if (bytes.readUInt32BE(1) !== fingerprint(shape)) {
    throw new PrismError(
      "InvalidArgument",
      "page_token belongs to a different namespace, series, range, order or tag filter",
      { reason: "INVALID_PAGE_TOKEN", field: "page_token" },
    );
  }
  try {
    return {
      endUs: bytes.readBigInt64BE(5),
      after: { eventTimeUs: bytes.readBigInt64BE(13), eventId: decoder.decode(bytes.subarray(HEADER_BYTES)) },
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

/** FNV-1a over every field of the shape, tags in key order. */
function fingerprint(shape: ReadShape): number {
  let hash = 0x811c9dc5;
  const mix = (text: string) => {
    for (const byte of encoder.encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    hash = Math.imul(hash ^ 0xff, 0x01000193) >>> 0;
  };
  mix(shape.namespace);
  mix(shape.seriesId);
  mix(String(shape.startUs));
  mix(shape.requestedEndUs === undefined ? "now" : String(shape.requestedEndUs));
  mix(shape.descending ? "desc" : "asc");
  for (const key of Object.keys(shape.tagFilter).sort()) {
    mix(key);
    mix(shape.tagFilter[key]!);
  }
  return hash;
}
