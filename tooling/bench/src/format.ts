/**
 * Left-aligns the first column, right-aligns the rest.
 *
 * @example table([["a", "1"], ["bb", "22"]]) // ["a    1", "bb  22"]
 */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? "").length)));
  return rows.map((r) =>
    r
      .map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!)))
      .join("  ")
      .trimEnd(),
  );
}

/** A rounded number with thousands separators. */
export const int = (n: number): string => Math.round(n).toLocaleString("en-US");

/** `n` rounded to `digits` decimals (for JSON output). */
export const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;
