/** Margins kept before a call's deadline to answer with what is ready (ms). */
const MIN_MARGIN_MS = 10;
const MAX_MARGIN_MS = 1000;

/**
 * The time by which a paged read should stop gathering and answer with what it has (and a token
 * to resume), so a slow page ends as a short page instead of DEADLINE_EXCEEDED — Netflix KV's
 * SLO-aware early response. A fifth of the time left, between 10 ms and 1 s, is kept for sending.
 *
 * @example kv.get(ns, id, predicate, { ...limits, softDeadline: softDeadline(ctx.deadline) })
 */
export function softDeadline(deadline: number, now = Date.now()): number {
  const left = deadline - now;
  return deadline - Math.min(MAX_MARGIN_MS, Math.max(MIN_MARGIN_MS, left / 5));
}
