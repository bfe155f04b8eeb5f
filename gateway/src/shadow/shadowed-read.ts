import type { ShadowState } from "./shadow-state.js";

/** How long a mismatch waits for in-flight dual-writes before it is read again and counted. */
const SETTLE_MS = 250;

/** A read as both sides answer it: `signal` bounds the call. */
export type Read<T> = (signal: AbortSignal | undefined) => Promise<T>;

/**
 * One read under shadow traffic. Unsampled: the primary alone. Sampled in `shadow-read`: the
 * primary answers, then the shadow is read in the background and compared. Sampled in
 * `read-shadow`: the shadow answers (the primary if the shadow fails) and the primary is read in
 * the background for the comparison. A difference is read again after a short settle (a
 * dual-write of this record may still be in flight) and counted only if it persists.
 *
 * @example return shadowedRead(state, id, signal, (s) => primary.get(ns, id, p, { ...o, signal: s }), (s) => shadow.get(…), diffPages)
 */
export async function shadowedRead<T>(
  state: ShadowState,
  id: string,
  signal: AbortSignal | undefined,
  primary: Read<T>,
  shadow: Read<T>,
  diff: (primary: T, shadow: T) => string | undefined,
): Promise<T> {
  if (!state.sampled()) return primary(signal);
  if (state.mode === "read-shadow") {
    let answer: T;
    try {
      answer = await shadow(signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      state.counters.readsFellBack++;
      return primary(signal);
    }
    state.counters.readsServedByShadow++;
    state.compareLater(async (background) => {
      const first = diff(await primary(background), answer);
      return first === undefined ? undefined : settle(id, background, primary, shadow, diff);
    });
    return answer;
  }
  const answer = await primary(signal);
  state.compareLater(async (background) => {
    const first = diff(answer, await shadow(background));
    return first === undefined ? undefined : settle(id, background, primary, shadow, diff);
  });
  return answer;
}

async function settle<T>(
  id: string,
  signal: AbortSignal,
  primary: Read<T>,
  shadow: Read<T>,
  diff: (primary: T, shadow: T) => string | undefined,
): Promise<{ id: string; summary: string } | undefined> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const [p, s] = await Promise.all([primary(signal), shadow(signal)]);
  const summary = diff(p, s);
  return summary === undefined ? undefined : { id, summary };
}
