import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Item } from "@prism/proto/prism/keyvalue/v1/keyvalue";

/**
 * One KeyValue item as a JSON object: the lines of `kv export` and `kv import`, and the JSON of
 * `kv get` and `kv scan`. Keys and values are UTF-8 text when they are, else base64:
 *
 * ```json
 * {"id": "user-1", "value": "hello"}
 * {"id": "user-1", "key": "colour", "value": "blue", "expire_time": "2026-12-01T00:00:00.000Z"}
 * {"id": "blob-7", "key_b64": "AAE=", "value_b64": "3q2+7w=="}
 * ```
 *
 * `id` is required (`kv get` leaves it out: the record is named on the command line); no key =
 * the empty key, the record's flat value; exactly one of `value` / `value_b64`; `expire_time`
 * (RFC 3339) only for items with a TTL: an import gives the item the TTL left, and skips it when
 * that time has passed.
 */
export interface KvLine {
  id?: string;
  key?: string;
  key_b64?: string;
  value?: string;
  value_b64?: string;
  expire_time?: string;
}

/** An item to put, read from a line. */
export interface ParsedLine {
  id: string;
  key: Uint8Array;
  value: Uint8Array;
  /** Milliseconds the item has left to live, when it has a TTL. */
  ttlMs?: number;
}

const FIELDS = new Set(["id", "key", "key_b64", "value", "value_b64", "expire_time"]);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * The JSON object of an item (of record `id`, when given).
 *
 * @example itemLine("user-1", item) // { id: "user-1", key: "colour", value: "blue" }
 */
export function itemLine(id: string | undefined, item: Item): KvLine {
  const line: KvLine = id === undefined ? {} : { id };
  if (item.key.length > 0) Object.assign(line, bytesField("key", item.key));
  Object.assign(line, bytesField("value", item.value));
  if (item.expireTime) line.expire_time = timestampDate(item.expireTime).toISOString();
  return line;
}

/**
 * The item of one line of a `kv import` file; `"expired"` for an item whose `expire_time` has
 * passed. Throws an Error saying what is wrong with the line.
 *
 * @example parseLine('{"id":"a","value":"b"}', Date.now()) // { id: "a", key: Uint8Array [], value: … }
 */
export function parseLine(text: string, now: number): ParsedLine | "expired" {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error("not a JSON object");
  const line = doc as Record<string, unknown>;
  const unknown = Object.keys(line).filter((field) => !FIELDS.has(field));
  if (unknown.length > 0)
    throw new Error(`unknown field ${unknown.join(", ")} (fields: ${[...FIELDS].join(", ")})`);
  if (typeof line.id !== "string" || line.id === "") throw new Error('"id" must be a non-empty string');
  const key = bytesOf(line, "key", false);
  const value = bytesOf(line, "value", true)!;
  const parsed: ParsedLine = { id: line.id, key: key ?? new Uint8Array(), value };
  if (line.expire_time !== undefined) {
    const at = typeof line.expire_time === "string" ? Date.parse(line.expire_time) : Number.NaN;
    if (!Number.isFinite(at)) throw new Error('"expire_time" must be an RFC 3339 time');
    if (at <= now) return "expired";
    parsed.ttlMs = at - now;
  }
  return parsed;
}

function bytesField(name: "key" | "value", bytes: Uint8Array): KvLine {
  try {
    return { [name]: strictUtf8.decode(bytes) };
  } catch {
    return { [`${name}_b64`]: Buffer.from(bytes).toString("base64") };
  }
}

function bytesOf(line: Record<string, unknown>, name: "key" | "value", required: boolean) {
  const textValue = line[name];
  const b64 = line[`${name}_b64`];
  if (textValue !== undefined && b64 !== undefined)
    throw new Error(`"${name}" and "${name}_b64" exclude each other`);
  if (textValue !== undefined) {
    if (typeof textValue !== "string") throw new Error(`"${name}" must be a string`);
    return encoder.encode(textValue);
  }
  if (b64 !== undefined) {
    if (typeof b64 !== "string" || !BASE64.test(b64)) throw new Error(`"${name}_b64" must be base64`);
    return new Uint8Array(Buffer.from(b64, "base64"));
  }
  if (required) throw new Error(`"${name}" or "${name}_b64" is required`);
  return undefined;
}
