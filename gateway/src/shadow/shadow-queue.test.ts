import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ShadowQueue } from "./shadow-queue.js";

const options = { maxTasks: 100, maxBytes: 1 << 20, concurrency: 4, timeoutMs: 1000 };

describe("ShadowQueue", () => {
  it("runs each lane's tasks in order while lanes run in parallel", async () => {
    const queue = new ShadowQueue(options);
    const applied = new Map<string, number[]>();
    let running = 0;
    let most = 0;
    for (let i = 0; i < 40; i++) {
      const lane = `r${i % 8}`;
      queue.offer(lane, 10, async () => {
        running++;
        most = Math.max(most, running);
        await sleep(Math.random() * 5);
        applied.set(lane, [...(applied.get(lane) ?? []), i]);
        running--;
      });
    }
    expect(await queue.drain(5000)).toBe(true);
    for (const [lane, order] of applied) {
      expect(order, lane).toEqual([...order].sort((a, b) => a - b));
      expect(order).toHaveLength(5);
    }
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThan(1);
    expect(queue.counters).toMatchObject({ writesOk: 40, writesFailed: 0, writesDropped: 0 });
  });

  it("drops (and counts) what does not fit, by tasks and by bytes, without waiting", async () => {
    const queue = new ShadowQueue({ ...options, maxTasks: 3, maxBytes: 100 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const task = () => gate;
    expect(queue.offer("a", 10, task)).toBe(true);
    expect(queue.offer("a", 10, task)).toBe(true);
    expect(queue.offer("b", 95, task)).toBe(false);
    expect(queue.offer("b", 10, task)).toBe(true);
    expect(queue.offer("c", 1, task)).toBe(false);
    expect(queue.counters.writesDropped).toBe(2);
    expect(queue.counters.lastProblemAt).toBeGreaterThan(0);
    expect(queue.depth).toBe(3);
    release();
    expect(await queue.drain(1000)).toBe(true);
    expect(queue.depth).toBe(0);
    expect(queue.offer("c", 1, task)).toBe(true);
  });

  it("counts a failed or timed-out task and moves its lane on", async () => {
    const failures: unknown[] = [];
    const queue = new ShadowQueue({ ...options, timeoutMs: 50 }, undefined, (error) => failures.push(error));
    const done: string[] = [];
    queue.offer("a", 1, async () => {
      throw new Error("shadow down");
    });
    queue.offer(
      "a",
      1,
      (signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    );
    queue.offer("a", 1, async () => {
      done.push("third");
    });
    expect(await queue.drain(2000)).toBe(true);
    expect(done).toEqual(["third"]);
    expect(queue.counters).toMatchObject({ writesOk: 1, writesFailed: 2 });
    expect(failures).toHaveLength(2);
  });

  it("refuses new tasks once closed but finishes those queued, and drain reports a timeout", async () => {
    const queue = new ShadowQueue(options);
    let finished = false;
    queue.offer("a", 1, async () => {
      await sleep(100);
      finished = true;
    });
    queue.close();
    expect(queue.offer("a", 1, async () => {})).toBe(false);
    expect(await queue.drain(10)).toBe(false);
    expect(await queue.drain(2000)).toBe(true);
    expect(finished).toBe(true);
  });
});
