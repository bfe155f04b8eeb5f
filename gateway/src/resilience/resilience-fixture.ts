import { type Backend, PrismError } from "@prism/core";
import { MemoryKeyValue } from "@prism/memory";
import { aroundCalls } from "../telemetry/instrumented.js";

export const NS = "orders";
export const ALL = { kind: "all" } as const;
export const PAGE = { limitItems: 100, limitBytes: 1 << 20 };
export const down = new PrismError("Unavailable", "backend mem is unavailable", {
  reason: "BACKEND_UNAVAILABLE",
});

/** What the faulty backend does to the next calls of an operation, in order; then it behaves. */
export type Fault = { fail: unknown } | { delayMs: number };

/**
 * A memory KeyValue backend (a product backend) with faults injected per operation: each call
 * takes the next fault of its operation's list. Counts calls that reached the store and those
 * aborted through their signal.
 */
export function faultyMemory(faults: Record<string, Fault[]>) {
  const store = new MemoryKeyValue();
  const stats = { calls: {} as Record<string, number>, aborted: 0 };
  const base: Backend = {
    name: "mem",
    type: "memory",
    keyvalue: store,
    health: async () => ({ ok: true, latencyMs: 0 }),
    close: async () => {},
  };
  const backend = aroundCalls(base, (call, inner) => async (a, b, c, d) => {
    stats.calls[call.operation] = (stats.calls[call.operation] ?? 0) + 1;
    const fault = faults[call.operation]?.shift();
    const signal = ((d ?? c ?? b) as { signal?: AbortSignal }).signal;
    if (fault && "fail" in fault) throw fault.fail;
    if (fault && "delayMs" in fault) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, fault.delayMs);
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          stats.aborted++;
          reject(new PrismError("Cancelled", "cancelled"));
        });
      });
    }
    return inner(a, b, c, d);
  });
  return { backend, store, stats };
}

export function item(key: string, value: string) {
  return { key: Buffer.from(key), value: Buffer.from(value) };
}
