import { Fingerprint, foreignToken, malformedToken, tokenBytes } from "../page-tokens.js";

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
  const bytes = tokenBytes(token, "page_token", 8192);
  if (bytes.length <= HEADER_BYTES || bytes[0] !== TOKEN_VERSION) throw malformedToken("page_token");
  if (bytes.readUInt32BE(1) !== fingerprint(shape)) {
    throw foreignToken("page_token", "namespace, series, range, order or tag filter");
  }
  try {
    return {
      endUs: bytes.readBigInt64BE(5),
      after: { eventTimeUs: bytes.readBigInt64BE(13), eventId: decoder.decode(bytes.subarray(HEADER_BYTES)) },
    };
  } catch {
    throw malformedToken("page_token");
  }
}

/** The fingerprint of every field of the shape, tags in key order. */
function fingerprint(shape: ReadShape): number {
  const hash = new Fingerprint()
    .text(shape.namespace)
    .text(shape.seriesId)
    .text(String(shape.startUs))
    .text(shape.requestedEndUs === undefined ? "now" : String(shape.requestedEndUs))
    .text(shape.descending ? "desc" : "asc");
  for (const key of Object.keys(shape.tagFilter).sort()) hash.text(key).text(shape.tagFilter[key]!);
  return hash.value;
}
