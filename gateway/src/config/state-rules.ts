import { PrismError } from "@prism/core";

/**
 * The rules both config stores apply to shared runtime state (`ConfigStore.putState` and
 * friends), so SQLite and PostgreSQL refuse exactly the same things with the same errors. Messages
 * never quote a value, and quote a key only when it was valid.
 */

/** Largest serialized value: state is checkpoints and counters, not data. */
export const MAX_STATE_VALUE_BYTES = 64 * 1024;
export const MAX_STATE_KEY_CHARS = 512;

const KIND = /^[a-z0-9-]{1,64}$/;
/**
 * Control characters (PostgreSQL text cannot hold U+0000) and lone surrogates (both drivers would
 * silently store U+FFFD, so the key read back would differ from the one written).
 */
const UNSTORABLE = /[\p{Cc}\p{Cs}]/u;

/**
 * Checks where a piece of state lives; throws InvalidArgument.
 *
 * @example checkStateAddress("backfill", jobId)
 */
export function checkStateAddress(kind: string, key: string): void {
  checkStateKind(kind);
  checkKeyText(key, "key");
  if (key.length === 0) throw invalid("state key is empty");
}

/**
 * Checks a kind and an optional key prefix for `listState`; the prefix may be empty.
 *
 * @example checkStateListing("shadow-stats", "user-profiles/")
 */
export function checkStateListing(kind: string, keyPrefix: string): void {
  checkStateKind(kind);
  checkKeyText(keyPrefix, "key prefix");
}

/**
 * Checks a put and returns the value as stored: its JSON text (at most
 * {@link MAX_STATE_VALUE_BYTES} UTF-8 bytes).
 *
 * @example const json = checkStatePut(kind, key, value, expectVersion)
 */
export function checkStatePut(kind: string, key: string, value: unknown, expectVersion?: number): string {
  checkStateAddress(kind, key);
  if (expectVersion !== undefined && !(Number.isSafeInteger(expectVersion) && expectVersion >= 0)) {
    throw invalid("expectVersion must be a non-negative integer (0 = only when absent)");
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    // Cycles and BigInts.
    throw invalid("state value is not serializable as JSON", error);
  }
  if (json === undefined) throw invalid("state value is not serializable as JSON");
  if (Buffer.byteLength(json) > MAX_STATE_VALUE_BYTES) {
    throw invalid(`state value exceeds ${MAX_STATE_VALUE_BYTES} bytes serialized`);
  }
  return json;
}

/**
 * What a store throws when `expectVersion` did not match (or the state existed when 0 was expected).
 *
 * @example if (!row) throw stateConflict(kind, key)
 */
export function stateConflict(kind: string, key: string): PrismError {
  const shown = key.slice(0, 200);
  return new PrismError(
    "Conflict",
    `state ${kind} ${JSON.stringify(shown)} was changed concurrently; read it and try again`,
    { metadata: { kind, key: shown } },
  );
}

function checkStateKind(kind: string): void {
  if (typeof kind !== "string" || !KIND.test(kind)) {
    throw invalid("state kind must be 1-64 characters of a-z, 0-9 and -");
  }
}

function checkKeyText(text: string, what: string): void {
  if (typeof text !== "string") throw invalid(`state ${what} must be a string`);
  // Counted in code points, as the limit is documented; the length check first bounds the work.
  if (text.length > MAX_STATE_KEY_CHARS * 2 || [...text].length > MAX_STATE_KEY_CHARS) {
    throw invalid(`state ${what} is longer than ${MAX_STATE_KEY_CHARS} characters`);
  }
  if (UNSTORABLE.test(text)) throw invalid(`state ${what} contains control characters or lone surrogates`);
}

function invalid(message: string, cause?: unknown): PrismError {
  return new PrismError("InvalidArgument", message, cause === undefined ? {} : { cause });
}
