import { setMaxListeners } from "node:events";

/** Deadlines within this many milliseconds of each other share one signal. */
const GRANULARITY_MS = 10;

/**
 * AbortSignals that fire at a deadline, shared by every call whose deadline falls in the same
 * 10 ms slot. Creating an AbortController and a timer per call costs several microseconds and
 * garbage on every unary call, most of which end long before their deadline; a thousand calls
 * a second share about a hundred signals instead. A shared signal fires up to 10 ms after the
 * exact deadline (never before), so a call is never cut short.
 *
 * @example const signal = deadlines.signalAt(ctx.deadline);
 */
export class DeadlineSignals {
  private readonly slots = new Map<number, AbortSignal>();

  /** The signal that fires at (or up to 10 ms after) epoch ms `deadline`. */
  signalAt(deadline: number): AbortSignal {
    const slot = Math.ceil(deadline / GRANULARITY_MS) * GRANULARITY_MS;
    let signal = this.slots.get(slot);
    if (signal) return signal;
    const controller = new AbortController();
    signal = controller.signal;
    // Every call of the slot may listen on it (backends remove their listener when done).
    setMaxListeners(0, signal);
    this.slots.set(slot, signal);
    const timer = setTimeout(
      () => {
        this.slots.delete(slot);
        controller.abort(new DOMException("deadline exceeded", "TimeoutError"));
      },
      Math.max(0, slot - Date.now()),
    );
    // A pending deadline must not keep a stopping process alive.
    timer.unref();
    return signal;
  }
}
