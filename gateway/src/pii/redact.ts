import { createHmac } from "node:crypto";
import { MaskStyle, PiiKind } from "@prism/proto/prism/options/v1/options";

/**
 * The ONE redaction function (DESIGN §6): what a PII value looks like to anyone who may not see
 * it in clear — in read answers, logs, error messages and audit summaries alike.
 *
 * - `PARTIAL` (also the default for `MASK_STYLE_UNSPECIFIED`) keeps the structure and a little of
 *   the value: `j***@example.com`, `***-***-1234`, `**** **** **** 4242`, `192.168.*.*`,
 *   `1990-**-**`. Kinds where any part identifies someone (free text) are masked whole.
 * - `FULL` replaces the value with `***`.
 * - `HASH` replaces it with `hash:` + 24 hex digits of HMAC-SHA256(key, kind ‖ value): equal values
 *   (of the same kind) give equal masks, so masked data can still be joined and counted, and nobody
 *   without the key can test a guess.
 *
 * The empty string stays empty (nothing to hide, and the shape says "not set"). Whatever survives
 * a partial mask is capped at {@link KEEP_MAX} characters, so a huge value never yields a huge mask.
 *
 * @example redactPii("jane@example.com", PiiKind.EMAIL, MaskStyle.PARTIAL, key) // "j***@example.com"
 */
export function redactPii(value: string, kind: PiiKind, style: MaskStyle, hashKey: Uint8Array): string {
  if (value === "") return "";
  switch (style) {
    case MaskStyle.FULL:
      return FULL;
    case MaskStyle.HASH:
      return hashed(value, kind, hashKey);
    default:
      return partial(value, kind);
  }
}

/** What `FULL` (and a partial mask with nothing safe to keep) shows. */
export const FULL = "***";

/** Characters of the original value a partial mask may keep, at most. */
export const KEEP_MAX = 64;

/** HMAC keys shorter than this are refused: a short key makes HASH masks guessable. */
export const MIN_HASH_KEY_BYTES = 16;

function hashed(value: string, kind: PiiKind, key: Uint8Array): string {
  if (key.length < MIN_HASH_KEY_BYTES) throw new Error(`PII hash key: at least ${MIN_HASH_KEY_BYTES} bytes`);
  const mac = createHmac("sha256", key).update(`${kind}\u0000`).update(value, "utf8").digest("hex");
  return `hash:${mac.slice(0, 24)}`;
}

function partial(value: string, kind: PiiKind): string {
  switch (kind) {
    case PiiKind.EMAIL: {
      const at = value.lastIndexOf("@");
      if (at < 0) return `${firstChar(value)}***`;
      return `${firstChar(value.slice(0, at))}***@${keepStart(value.slice(at + 1))}`;
    }
    case PiiKind.NAME:
      // Initials: "Ada Lovelace" → "A*** L***".
      return words(value)
        .map((word) => `${firstChar(word)}***`)
        .join(" ");
    case PiiKind.PHONE:
      return lastDigits(value, 4, "***-***-", 7);
    case PiiKind.SSN:
      return lastDigits(value, 4, "***-**-", 9);
    case PiiKind.CREDIT_CARD:
      return lastDigits(value, 4, "**** **** **** ", 12);
    case PiiKind.GOVERNMENT_ID: {
      const chars = Array.from(value.trim());
      return chars.length >= 8 ? `***${chars.slice(-3).join("")}` : FULL;
    }
    case PiiKind.ADDRESS: {
      // The last word (a city or "Street"), never the number or the name of the street.
      const parts = words(value);
      return parts.length > 1 ? `*** ${keepStart(parts.at(-1)!)}` : FULL;
    }
    case PiiKind.IP:
      return maskIp(value.trim());
    case PiiKind.DATE_OF_BIRTH: {
      const year = /^(\d{4})[-/.]\d{1,2}[-/.]\d{1,2}/.exec(value.trim());
      return year ? `${year[1]}-**-**` : FULL;
    }
    default:
      // Free text and unknown kinds: any part may identify someone.
      return FULL;
  }
}

/** `***-***-1234`: the last `keep` digits, only when the value has at least `minDigits` digits. */
function lastDigits(value: string, keep: number, prefix: string, minDigits: number): string {
  let digits = "";
  for (const char of value) if (char >= "0" && char <= "9") digits += char;
  return digits.length >= minDigits ? `${prefix}${digits.slice(-keep)}` : FULL;
}

function maskIp(value: string): string {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(value);
  if (v4) return `${v4[1]}.${v4[2]}.*.*`;
  if (/^[0-9a-fA-F:]+$/.test(value) && value.includes(":") && value.length <= 39) {
    const groups = value.split(":");
    return `${groups[0]}:${groups[1]}:*`;
  }
  return FULL;
}

/** The first code point (so a surrogate pair is never split). */
function firstChar(text: string): string {
  for (const char of text) return char;
  return "";
}

function keepStart(text: string): string {
  const chars = Array.from(text.slice(0, KEEP_MAX * 2));
  return chars.length > KEEP_MAX ? `${chars.slice(0, KEEP_MAX).join("")}…` : chars.join("");
}

function words(text: string): string[] {
  // Only the first words matter for initials; a huge value is not split whole.
  return text
    .slice(0, 4 * KEEP_MAX)
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 8);
}
