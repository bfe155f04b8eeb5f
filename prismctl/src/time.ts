import { InvalidArgumentError } from "commander";

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * `TIME`: ISO 8601 (`2026-11-30T10:00:00Z`), epoch milliseconds, `now`, or relative to now
 * (`-15m`, `-2h`, `-1d`); as epoch milliseconds. A commander option parser.
 *
 * @example parseTime("-1h") // Date.now() - 3_600_000
 */
export function parseTime(text: string): number {
  if (text === "now") return Date.now();
  const relative = /^-(\d+)(ms|s|m|h|d)$/.exec(text);
  if (relative) return Date.now() - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw new InvalidArgumentError(
      `TIME: ISO 8601, epoch ms, now, or -15m/-2h/-1d (not ${JSON.stringify(text)})`,
    );
  }
  return ms;
}

/**
 * `DURATION`: a whole number with a unit, `500ms`, `30s`, `15m`, `2h`, `7d`; as milliseconds
 * (at least 1). A commander option parser.
 *
 * @example parseDuration("15m") // 900_000
 */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : 0;
  if (!(ms >= 1) || !Number.isSafeInteger(ms)) {
    throw new InvalidArgumentError(
      `DURATION: a number with ms, s, m, h or d, e.g. 30s (not ${JSON.stringify(text)})`,
    );
  }
  return ms;
}
