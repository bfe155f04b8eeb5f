/** Small display helpers shared by the pages. */

/** 0 → "0", 0.25 → "0.25", 12.345 → "12.3", 50 → "50", 1234.5 → "1235". */
export function formatRate(value: number): string {
  if (value === 0) return "0";
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1).replace(/\.0$/, "");
  return value.toFixed(2).replace(/\.?0+$/, "");
}

/** 83 → "01:23"; 3725 → "1:02:05"; undefined → "—". */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "—";
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

/** ISO 8601 → local date and time; "" or undefined → "—". */
export function formatTime(iso: string | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** 0.987 → "98.7 %"; undefined → "—". */
export function formatPercent(ratio: number | undefined): string {
  return ratio === undefined ? "—" : `${(ratio * 100).toFixed(1)} %`;
}

export function formatCount(value: number): string {
  return value.toLocaleString();
}
