import type { KvItem, PageOptions } from "./keyvalue.js";

/** Bytes an item counts for in page bounds. */
export const itemBytes = (item: KvItem): number => item.key.length + item.value.length;

/**
 * Takes one page from `rows` in order: at most `limitItems`, and no row that would push the
 * page's bytes past `limitBytes` — except the first, so an oversized row still makes progress.
 * Reads at most one row past the page to learn whether more follow, so a lazy iterator (a
 * database cursor) is never drained.
 *
 * @example const { page, more } = takePage(statement.iterate(...), (row) => row.size, limits)
 */
export function takePage<T>(
  rows: Iterable<T>,
  sizeOf: (row: T) => number,
  limits: Pick<PageOptions, "limitItems" | "limitBytes">,
): { page: T[]; more: boolean } {
  const page: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = sizeOf(row);
    if (page.length >= limits.limitItems || (page.length > 0 && bytes + size > limits.limitBytes)) {
      return { page, more: true };
    }
    page.push(row);
    bytes += size;
  }
  return { page, more: false };
}
