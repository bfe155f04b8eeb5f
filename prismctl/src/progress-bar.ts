/** Where a live line goes: a terminal (`isTTY`, `columns`) or anything else (no live line). */
export interface LiveOutput {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** What a progress line shows; `total` 0 = not known yet. */
export interface Progress {
  done: number;
  total: number;
  /** What is counted, plural: `records`. */
  unit: string;
  /** Units per second; shown when > 0. */
  rate?: number;
  bytesPerSecond?: number;
  etaMs?: number;
  phase?: string;
}

const BAR_WIDTH = 24;
const numbers = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/**
 * `[#########.....] 61% 6,100/10,000 records 1,234 rec/s 2.1 MB/s ETA 3s (copying)`; without a
 * total, the count alone. A total passed by `done` (writes go on during a copy) shows 100%.
 *
 * @example progressLine({ done: 61, total: 100, unit: "records", phase: "copying" })
 */
export function progressLine(progress: Progress): string {
  const parts: string[] = [];
  if (progress.total > 0) {
    const fraction = Math.min(1, progress.done / progress.total);
    parts.push(`${bar(fraction)} ${Math.floor(fraction * 100)}%`);
    parts.push(`${count(progress.done)}/${count(progress.total)} ${progress.unit}`);
  } else {
    parts.push(`${count(progress.done)} ${progress.unit}`);
  }
  if (progress.rate) parts.push(`${count(progress.rate)} ${rateUnit(progress.unit)}`);
  if (progress.bytesPerSecond) parts.push(`${bytes(progress.bytesPerSecond)}/s`);
  if (progress.etaMs !== undefined) parts.push(`ETA ${duration(progress.etaMs)}`);
  if (progress.phase) parts.push(`(${progress.phase})`);
  return parts.join(" ");
}

/** `[######......]`: `fraction` (0..1) of `width` cells filled. */
export function bar(fraction: number, width = BAR_WIDTH): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

/** A whole number with thousands separators: `6,100`. */
export function count(value: number | bigint): string {
  return numbers.format(value);
}

/** Decimal units, one decimal from kB up: `512 B`, `2.1 MB`. */
export function bytes(value: number | bigint): string {
  let amount = Number(value);
  const units = ["B", "kB", "MB", "GB", "TB"];
  let unit = 0;
  while (amount >= 1000 && unit < units.length - 1) {
    amount /= 1000;
    unit++;
  }
  return unit === 0 ? `${Math.round(amount)} B` : `${amount.toFixed(1)} ${units[unit]}`;
}

/** `3s`, `2m05s`, `1h02m`; under a second `0s`. */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/**
 * A line redrawn in place on a terminal (`\r` … erase to end of line), cut to the terminal's
 * width so it never wraps (a wrapped line cannot be redrawn); on anything else it writes nothing.
 *
 * @example const live = liveLine(process.stdout); live.show("50%"); live.clear();
 */
export function liveLine(output: LiveOutput): { show(text: string): void; clear(): void } {
  let shown = false;
  return {
    show(text) {
      if (!output.isTTY) return;
      const width = Math.max(10, (output.columns || 80) - 1);
      output.write(`\r${text.length > width ? text.slice(0, width) : text}\u001b[K`);
      shown = true;
    },
    clear() {
      if (shown) output.write("\r\u001b[K");
      shown = false;
    },
  };
}

function rateUnit(unit: string): string {
  return unit === "records" ? "rec/s" : `${unit}/s`;
}
