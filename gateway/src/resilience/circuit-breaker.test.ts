import { type Backend, type KeyValueBackend, PrismError } from "@prism/core";
import { describe, expect, it } from "vitest";
import type { BackendCall } from "../telemetry/instrumented.js";
import { CircuitBreaker, CircuitBreakers } from "./circuit-breaker.js";

const CALL: BackendCall = {
  backend: "pg",
  type: "postgres",
  pattern: "keyvalue",
  operation: "get",
  streaming: false,
};
const TAIL: BackendCall = { ...CALL, pattern: "timeseries", operation: "tail", streaming: true };
const down = new PrismError("Unavailable", "backend pg is unavailable", { reason: "BACKEND_UNAVAILABLE" });
const timedOut = new PrismError("DeadlineExceeded", "deadline exceeded");
const notFound = new PrismError("NotFound", "no such record");

function breakerAt(clock: { now: number }) {
  return new CircuitBreaker("pg", { failureThreshold: 3, openMs: 1000 }, () => clock.now);
}

/** One call through the breaker: refused (the error), or run to `outcome`. */
function call(breaker: CircuitBreaker, outcome: unknown, what = CALL): unknown {
  let ticket: ReturnType<CircuitBreaker["onStart"]>;
  try {
    ticket = breaker.onStart(what);
  } catch (refusal) {
    return refusal;
  }
  breaker.onEnd(what, ticket, outcome);
  return undefined;
}

describe("CircuitBreaker", () => {
  it("opens after consecutive unavailable or timed-out calls, and a success resets the count", () => {
    const clock = { now: 0 };
    const breaker = breakerAt(clock);
    call(breaker, down);
    call(breaker, timedOut);
    call(breaker, undefined);
    call(breaker, down);
    call(breaker, down);
    expect(breaker.state).toBe("closed");
    // Not-found says the backend answered: it neither counts nor resets.
    call(breaker, notFound);
    call(breaker, down);
    expect(breaker.state).toBe("open");
    expect(breaker.opened).toBe(1);
    const refusal = call(breaker, undefined) as PrismError;
    expect(refusal).toBeInstanceOf(PrismError);
    expect(refusal.kind).toBe("Unavailable");
    expect(refusal.reason).toBe("BACKEND_UNAVAILABLE");
    expect(refusal.metadata).toEqual({ backend: "pg", circuit: "open" });
  });

  it("lets one probe through after openMs: success closes, failure opens again", () => {
    const clock = { now: 0 };
    const breaker = breakerAt(clock);
    for (let i = 0; i < 3; i++) call(breaker, down);
    clock.now = 999;
    expect(call(breaker, undefined)).toBeInstanceOf(PrismError);
    clock.now = 1000;
    expect(breaker.state).toBe("half-open");
    // A tail cannot be the probe (it ends only when its reader stops).
    expect(call(breaker, undefined, TAIL)).toBeInstanceOf(PrismError);
    const probe = breaker.onStart(CALL);
    // While the probe runs, other calls are refused.
    expect(call(breaker, undefined)).toBeInstanceOf(PrismError);
    breaker.onEnd(CALL, probe, down);
    expect(breaker.state).toBe("open");
    expect(breaker.opened).toBe(1);
    clock.now = 2000;
    expect(call(breaker, undefined)).toBeUndefined();
    expect(breaker.state).toBe("closed");
    expect(call(breaker, undefined, TAIL)).toBeUndefined();
  });

  it("refuses calls of an open circuit without reaching the backend", async () => {
    const breakers = new CircuitBreakers({ failureThreshold: 2, openMs: 60_000 });
    let reached = 0;
    // A backend whose server is gone: every get fails as unavailable.
    const failing = {
      capabilities: {},
      get: async () => {
        reached++;
        throw down;
      },
    } as unknown as KeyValueBackend;
    const backend: Backend = {
      name: "gone",
      type: "postgres",
      keyvalue: failing,
      health: async () => ({ ok: false, latencyMs: 0 }),
      close: async () => {},
    };
    const guarded = breakers.wrap(backend);
    const get = () =>
      guarded.keyvalue!.get("ns", "id", { kind: "all" }, { limitItems: 10, limitBytes: 1024 });
    await expect(get()).rejects.toBe(down);
    await expect(get()).rejects.toBe(down);
    await expect(get()).rejects.toMatchObject({ metadata: { circuit: "open" } });
    expect(reached).toBe(2);
    expect(breakers.get("gone")?.state).toBe("open");
  });
});
