import { PrismError } from "@prism/core";
import { describe, expect, it } from "vitest";
import { ALL, down, faultyMemory, item, NS, PAGE } from "./resilience-fixture.js";
import { RetryBudget } from "./retry-budget.js";
import { Retries } from "./retrying.js";

const SETTINGS = { maxAttempts: 3, backoffMs: 1, ratio: 0.1, minPerSecond: 10 };

describe("RetryBudget", () => {
  it("allows minPerSecond extra attempts at once, then ratio of the calls, refilled over time", () => {
    const clock = { now: 0 };
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 2 }, () => clock.now);
    expect([budget.withdraw(), budget.withdraw(), budget.withdraw()]).toEqual([true, true, false]);
    budget.deposit();
    budget.deposit();
    expect([budget.withdraw(), budget.withdraw()]).toEqual([true, false]);
    clock.now += 1000;
    expect([budget.withdraw(), budget.withdraw(), budget.withdraw()]).toEqual([true, true, false]);
    expect({ spent: budget.spent, exhausted: budget.exhausted }).toEqual({ spent: 5, exhausted: 3 });
  });
});

describe("Retries", () => {
  it("retries an idempotent call that failed as unavailable, and the caller sees the answer", async () => {
    const { backend, store, stats } = faultyMemory({ get: [{ fail: down }, { fail: down }] });
    await store.put(NS, "r1", [item("a", "1")], {});
    const kv = new Retries(SETTINGS).wrap(backend).keyvalue!;
    const result = await kv.get(NS, "r1", ALL, PAGE);
    expect(Buffer.from(result.items[0]!.value).toString()).toBe("1");
    expect(stats.calls.get).toBe(3);
  });

  it("gives up after maxAttempts with the backend's error", async () => {
    const { backend, stats } = faultyMemory({ put: [{ fail: down }, { fail: down }, { fail: down }] });
    const kv = new Retries(SETTINGS).wrap(backend).keyvalue!;
    await expect(kv.put(NS, "r1", [item("a", "1")], {})).rejects.toBe(down);
    expect(stats.calls.put).toBe(3);
  });

  it("never retries mutate, answers, timeouts or an open circuit", async () => {
    const open = new PrismError("Unavailable", "backend mem is unavailable", {
      metadata: { circuit: "open" },
    });
    const timedOut = new PrismError("DeadlineExceeded", "deadline exceeded");
    const missing = new PrismError("NotFound", "no such namespace");
    const { backend, stats } = faultyMemory({
      mutate: [{ fail: down }],
      get: [{ fail: open }, { fail: timedOut }, { fail: missing }],
    });
    const kv = new Retries(SETTINGS).wrap(backend).keyvalue!;
    await expect(kv.mutate(NS, "r1", [], {})).rejects.toBe(down);
    await expect(kv.get(NS, "r1", ALL, PAGE)).rejects.toBe(open);
    await expect(kv.get(NS, "r1", ALL, PAGE)).rejects.toBe(timedOut);
    await expect(kv.get(NS, "r1", ALL, PAGE)).rejects.toBe(missing);
    expect(stats.calls).toEqual({ mutate: 1, get: 3 });
  });

  it("stops retrying when the budget is spent: a dead backend gets at most ratio more calls", async () => {
    const faults = Array.from({ length: 400 }, () => ({ fail: down }));
    const { backend, stats } = faultyMemory({ get: faults });
    const retries = new Retries({ ...SETTINGS, minPerSecond: 5 });
    const kv = retries.wrap(backend).keyvalue!;
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => kv.get(NS, `r${i}`, ALL, PAGE)),
    );
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    // 200 first attempts; retries from the 5 banked tokens and 0.1 per call (within this second).
    expect(stats.calls.get).toBeGreaterThan(200);
    expect(stats.calls.get).toBeLessThanOrEqual(200 + 5 + 20 + 1);
    expect(retries.budget("mem")?.exhausted).toBeGreaterThan(150);
  });

  it("does not retry after the call's deadline or cancel", async () => {
    const { backend, stats } = faultyMemory({ get: [{ fail: down }] });
    const kv = new Retries({ ...SETTINGS, backoffMs: 5_000 }).wrap(backend).keyvalue!;
    const controller = new AbortController();
    const call = kv.get(NS, "r1", ALL, { ...PAGE, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const started = Date.now();
    await expect(call).rejects.toBe(down);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(stats.calls.get).toBe(1);
  });

  it("is off with maxAttempts 1", async () => {
    const { backend, stats } = faultyMemory({ get: [{ fail: down }] });
    const kv = new Retries({ ...SETTINGS, maxAttempts: 1 }).wrap(backend).keyvalue!;
    await expect(kv.get(NS, "r1", ALL, PAGE)).rejects.toBe(down);
    expect(stats.calls.get).toBe(1);
  });
});
