import { compareBytes, type KeyPredicate, PrismError, type Reason } from "@prism/core";
import type { IdempotencyToken } from "@prism/proto/prism/common/v1/common";
import type { Item, KeyRange, KeySet } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import type { KeyValueSettings } from "../../config/gateway-config.js";

const MAX_TTL_SECONDS = 100n * 365n * 24n * 3600n;

/** Rejects a request field with a clear InvalidArgument naming it. */
export function invalid(field: string, message: string, reason: Reason = "INVALID_ARGUMENT"): PrismError {
  return new PrismError("InvalidArgument", `${field}: ${message}`, { reason, field });
}

/** Record ids: non-empty UTF-8 up to the configured bytes, without control characters (reserved by the gateway). */
export function checkId(id: string, settings: KeyValueSettings): void {
  if (id.length === 0) throw invalid("id", "is required", "ID_REQUIRED");
  if (Buffer.byteLength(id) > settings.maxIdBytes) {
    throw invalid("id", `is longer than ${settings.maxIdBytes} bytes`, "ID_TOO_LONG");
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
  if (/[\u0000-\u001f\u007f]/.test(id))
    throw invalid("id", "must not contain control characters", "INVALID_ID");
}

export function checkKey(key: Uint8Array, field: string, settings: KeyValueSettings): void {
  if (key.length > settings.maxKeyBytes) {
    throw invalid(field, `is longer than ${settings.maxKeyBytes} bytes`, "KEY_TOO_LONG");
  }
}

/** An item to write: key and value sizes, TTL → absolute expiry. */
export function checkItem(
  item: Item,
  field: string,
  settings: KeyValueSettings,
  maxValueBytes: number,
  now: number,
): { key: Uint8Array; value: Uint8Array; expiresAt?: number } {
  checkKey(item.key, `${field}.key`, settings);
  if (item.value.length > maxValueBytes) {
    throw new PrismError(
      "InvalidArgument",
      `${field}.value: is ${item.value.length} bytes; the namespace allows ${maxValueBytes}`,
      {
        reason: "VALUE_TOO_LARGE",
        field: `${field}.value`,
        metadata: { limit: String(maxValueBytes) },
      },
    );
  }
  if (!item.ttl) return { key: item.key, value: item.value };
  const { seconds, nanos } = item.ttl;
  if (seconds < 0n || nanos < 0 || (seconds === 0n && nanos === 0) || seconds > MAX_TTL_SECONDS) {
    throw invalid(`${field}.ttl`, "must be positive and at most 100 years", "INVALID_TTL");
  }
  return {
    key: item.key,
    value: item.value,
    expiresAt: now + Number(seconds) * 1000 + Math.ceil(nanos / 1e6),
  };
}

/** A oneof predicate from a request; unset = all. Key sets come back sorted and unique. */
export function toPredicate(
  predicate:
    | { case: "all" }
    | { case: "keys"; value: KeySet }
    | { case: "range"; value: KeyRange }
    | { case: undefined },
  settings: KeyValueSettings,
): KeyPredicate {
  switch (predicate.case) {
    case "keys":
      return { kind: "keys", keys: checkKeySet(predicate.value, "keys", settings) };
    case "range":
      return checkRange(predicate.value, "range", settings);
    default:
      return { kind: "all" };
  }
}

export function checkKeySet(set: KeySet, field: string, settings: KeyValueSettings): Uint8Array[] {
  if (set.keys.length === 0) throw invalid(`${field}.keys`, "must name at least one key");
  if (set.keys.length > settings.maxItemsPerRequest) {
    throw invalid(
      `${field}.keys`,
      `at most ${settings.maxItemsPerRequest} keys per request`,
      "TOO_MANY_ITEMS",
    );
  }
  for (const [i, key] of set.keys.entries()) checkKey(key, `${field}.keys[${i}]`, settings);
  const sorted = [...set.keys].sort(compareBytes);
  return sorted.filter((key, i) => i === 0 || compareBytes(key, sorted[i - 1]!) !== 0);
}

export function checkRange(range: KeyRange, field: string, settings: KeyValueSettings): KeyPredicate {
  checkKey(range.start, `${field}.start`, settings);
  checkKey(range.end, `${field}.end`, settings);
  if (range.end.length === 0) return { kind: "range", start: range.start };
  if (compareBytes(range.start, range.end) > 0)
    throw invalid(`${field}`, "start must not be after end", "INVALID_RANGE");
  return { kind: "range", start: range.start, end: range.end };
}

/** Page bounds: 0 = default, above the maximum = the maximum. */
export function pageLimits(
  bytes: number,
  items: number,
  settings: KeyValueSettings,
): { limitBytes: number; limitItems: number } {
  return {
    limitBytes: bytes === 0 ? settings.defaultPageBytes : Math.min(bytes, settings.maxPageBytes),
    limitItems: items === 0 ? settings.defaultPageItems : Math.min(items, settings.maxPageItems),
  };
}

/** The key a backend records an idempotency token under; undefined when the client sent none. */
export function idempotencyKey(token: IdempotencyToken | undefined): string | undefined {
  if (!token || token.token === "") return undefined;
  if (token.token.length > 128 || !/^[\x21-\x7e]+$/.test(token.token)) {
    throw invalid(
      "idempotency_token.token",
      "must be 1-128 printable ASCII characters",
      "INVALID_IDEMPOTENCY_TOKEN",
    );
  }
  return token.token;
}
