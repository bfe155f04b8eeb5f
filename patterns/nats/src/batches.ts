import { type PageOptions, takePage, throwIfAborted } from "@prism/core";

/**
 * How many KV requests run at once. NATS KV has one request per key, so reads and writes of many
 * items go in parallel batches: large enough to hide round trips, small enough not to flood a
 * server or hold many 1 MiB values in memory.
 */
export const BATCH_SIZE = 32;

/** Waits for a batch of requests, bounded by the caller (see `NatsLink.call`). */
export type Waiter = <T>(work: Promise<T>, signal?: AbortSignal) => Promise<T>;

/**
 * Runs `apply` on every element, {@link BATCH_SIZE} at a time, checking the signal between
 * batches.
 */
export async function inBatches<T>(
  elements: readonly T[],
  apply: (element: T) => Promise<unknown>,
  wait: Waiter,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (let start = 0; start < elements.length; start += BATCH_SIZE) {
    throwIfAborted(signal);
    await wait(Promise.all(elements.slice(start, start + BATCH_SIZE).map(apply)), signal);
  }
}

/**
 * One page of rows fetched from ordered `candidates` (keys whose values are not yet read).
 * `fetch` yields `undefined` for a candidate deleted since it was listed. Fetches only until the
 * page is known to be full plus one row, so `takePage` can tell whether more follow, instead of
 * reading every value of a large record for a small page.
 */
export async function fetchPage<C, R>(
  candidates: readonly C[],
  fetch: (candidate: C) => Promise<R | undefined>,
  sizeOf: (row: R) => number,
  limits: Pick<PageOptions, "limitItems" | "limitBytes">,
  wait: Waiter,
  signal: AbortSignal | undefined,
): Promise<{ page: R[]; more: boolean }> {
  const rows: R[] = [];
  let bytes = 0;
  let next = 0;
  const pageClosed = () => rows.length > limits.limitItems || (rows.length > 0 && bytes > limits.limitBytes);
  while (next < candidates.length && !pageClosed()) {
    throwIfAborted(signal);
    const count = Math.min(BATCH_SIZE, limits.limitItems + 1 - rows.length);
    const batch = candidates.slice(next, next + count);
    next += batch.length;
    for (const row of await wait(Promise.all(batch.map(fetch)), signal)) {
      if (row === undefined) continue;
      rows.push(row);
      bytes += sizeOf(row);
    }
  }
  return takePage(rows, sizeOf, limits);
}
