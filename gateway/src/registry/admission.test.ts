import { isPrismError, type PrismError } from "@prism/core";
import { describe, expect, it } from "vitest";
import { Admission } from "./admission.js";

function refusal(run: () => unknown): PrismError {
  try {
    run();
  } catch (error) {
    if (isPrismError(error)) return error;
    throw error;
  }
  throw new Error("the call was admitted");
}

describe("Admission", () => {
  it("refuses beyond the namespace's rate with the delay until the next token", () => {
    const admission = new Admission({ rps: 2 });
    admission.admit("orders", undefined, true);
    admission.admit("orders", undefined, true);
    const refused = refusal(() => admission.admit("orders", undefined, true));
    expect(refused.kind).toBe("ResourceExhausted");
    expect(refused.reason).toBe("RATE_LIMITED");
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(500);
  });

  it("gives each caller its own bucket; anonymous callers share the namespace's", () => {
    const admission = new Admission({ principalRps: 1 });
    admission.admit("orders", "alice", true);
    expect(refusal(() => admission.admit("orders", "alice", true)).reason).toBe("PRINCIPAL_RATE_LIMITED");
    admission.admit("orders", "bob", true);
    for (let i = 0; i < 5; i++) admission.admit("orders", undefined, true);
  });

  it("holds a slot per call in progress until it is released, streams that never end excepted", () => {
    const admission = new Admission({ concurrency: 2 });
    const first = admission.admit("orders", undefined, true)!;
    admission.admit("orders", undefined, true);
    const refused = refusal(() => admission.admit("orders", undefined, true));
    expect(refused.reason).toBe("CONCURRENCY_LIMITED");
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    // A tail takes no slot.
    expect(admission.admit("orders", undefined, false)).toBeUndefined();
    first();
    first(); // releasing twice frees one slot, not two
    admission.admit("orders", undefined, true);
    expect(refusal(() => admission.admit("orders", undefined, true)).reason).toBe("CONCURRENCY_LIMITED");
  });

  it("is kept across reloads only while its limits are unchanged", () => {
    const admission = new Admission({ rps: 5, concurrency: 3 });
    expect(admission.sameAs({ rps: 5, concurrency: 3 })).toBe(true);
    expect(admission.sameAs({ rps: 5, concurrency: 4 })).toBe(false);
    expect(admission.sameAs({ rps: 5, concurrency: 3, principalRps: 1 })).toBe(false);
  });
});
