import { PrismError } from "@prism/core";
import { describe, expect, it } from "vitest";
import { HedgeCounters, hedged } from "./hedged.js";
import { ALL, down, faultyMemory, item, NS, PAGE } from "./resilience-fixture.js";
import { RetryBudget } from "./retry-budget.js";

function counters(minPerSecond = 10) {
  return new HedgeCounters(new RetryBudget({ ratio: 0.1, minPerSecond }));
}

describe("hedged reads", () => {
  it("sends a second read after afterMs; the first answer wins and the slow one is aborted", async () => {
    const { backend, store, stats } = faultyMemory({ get: [{ delayMs: 5_000 }] });
    await store.put(NS, "r1", [item("a", "1")], {});
    const count = counters();
    const kv = hedged(backend, { afterMs: 20, maxRatio: 0.1 }, count).keyvalue!;
    const started = Date.now();
    const result = await kv.get(NS, "r1", ALL, PAGE);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result.items).toHaveLength(1);
    expect(stats.calls.get).toBe(2);
    expect(stats.aborted).toBe(1);
    expect({ sent: count.sent, won: count.won }).toEqual({ sent: 1, won: 1 });
  });

  it("sends nothing more when the first read answers in time", async () => {
    const { backend, stats } = faultyMemory({});
    const count = counters();
    const kv = hedged(backend, { afterMs: 200, maxRatio: 0.1 }, count).keyvalue!;
    for (let i = 0; i < 20; i++) await kv.get(NS, `r${i}`, ALL, PAGE);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(stats.calls.get).toBe(20);
    expect(count.sent).toBe(0);
  });

  it("fails at once when the first read fails before the hedge is due (a hedge is not a retry)", async () => {
    const { backend, stats } = faultyMemory({ get: [{ fail: down }] });
    const kv = hedged(backend, { afterMs: 1_000, maxRatio: 0.1 }, counters()).keyvalue!;
    const started = Date.now();
    await expect(kv.get(NS, "r1", ALL, PAGE)).rejects.toBe(down);
    expect(Date.now() - started).toBeLessThan(500);
    expect(stats.calls.get).toBe(1);
  });

  it("waits for the hedge when the slow first read then fails", async () => {
    const slowThenFail = new PrismError("Unavailable", "connection reset");
    const { backend, store } = faultyMemory({ get: [{ delayMs: 60 }, { delayMs: 100 }] });
    await store.put(NS, "r1", [item("a", "1")], {});
    // The first read stalls 60 ms and then succeeds; make it fail instead by wrapping once more.
    let first = true;
    const failing = {
      ...backend,
      keyvalue: {
        ...backend.keyvalue!,
        get: async (...args: Parameters<NonNullable<typeof backend.keyvalue>["get"]>) => {
          const mine = first;
          first = false;
          const result = await backend.keyvalue!.get(...args);
          if (mine) throw slowThenFail;
          return result;
        },
      },
    };
    const kv = hedged(failing, { afterMs: 10, maxRatio: 0.1 }, counters()).keyvalue!;
    const result = await kv.get(NS, "r1", ALL, PAGE);
    expect(result.items).toHaveLength(1);
  });

  it("keeps second reads within the budget", async () => {
    const slow = Array.from({ length: 100 }, () => ({ delayMs: 50 }));
    const { backend, stats } = faultyMemory({ get: slow });
    const count = counters(3);
    const kv = hedged(backend, { afterMs: 5, maxRatio: 0.1 }, count).keyvalue!;
    await Promise.all(Array.from({ length: 50 }, (_, i) => kv.get(NS, `r${i}`, ALL, PAGE)));
    // 3 banked plus 0.1 per read (50 reads: 5), never one per read.
    expect(count.sent).toBeGreaterThan(0);
    expect(count.sent).toBeLessThanOrEqual(3 + 5 + 1);
    expect(stats.calls.get).toBe(50 + count.sent);
    expect(count.budget.exhausted).toBe(50 - count.sent);
  });

  it("does not hedge writes or scans", async () => {
    const { backend, stats } = faultyMemory({ put: [{ delayMs: 80 }], scan: [{ delayMs: 80 }] });
    const count = counters();
    const kv = hedged(backend, { afterMs: 5, maxRatio: 0.1 }, count).keyvalue!;
    await kv.put(NS, "r1", [item("a", "1")], {});
    await kv.scan(NS, PAGE);
    expect({ put: stats.calls.put, scan: stats.calls.scan, sent: count.sent }).toEqual({
      put: 1,
      scan: 1,
      sent: 0,
    });
  });
});
