import { describe, expect, it } from "vitest";
import { ReadWriteLock } from "./exclusive-writes.js";
import { readNeptuneOptions } from "./neptune-options.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("ReadWriteLock", () => {
  it("lets readers share, keeps a writer alone, and admits waiters in arrival order", async () => {
    const lock = new ReadWriteLock();
    const log: string[] = [];
    let inside = 0;
    let most = 0;
    const work = (name: string, write: boolean) =>
      lock.run(write, async () => {
        inside++;
        most = Math.max(most, inside);
        if (write) expect(inside, `${name} ran beside another call`).toBe(1);
        log.push(`+${name}`);
        await tick();
        log.push(`-${name}`);
        inside--;
      });
    await Promise.all([
      work("r1", false),
      work("r2", false),
      work("w1", true),
      work("r3", false),
      work("w2", true),
    ]);
    expect(log.slice(0, 2).sort()).toEqual(["+r1", "+r2"]);
    expect(log.indexOf("+w1")).toBeGreaterThan(Math.max(log.indexOf("-r1"), log.indexOf("-r2")));
    expect(log.indexOf("+r3")).toBeGreaterThan(log.indexOf("-w1"));
    expect(log.indexOf("+w2")).toBeGreaterThan(log.indexOf("-r3"));
    expect(most).toBe(2);
  });

  it("releases the lock when the work throws", async () => {
    const lock = new ReadWriteLock();
    await expect(lock.run(true, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(lock.run(true, async () => "after")).resolves.toBe("after");
  });
});

describe("the exclusiveWrites option", () => {
  it("defaults to true and refuses what is not a boolean", () => {
    expect(readNeptuneOptions({ url: "ws://127.0.0.1:1/gremlin" }).options.exclusiveWrites).toBe(true);
    expect(
      readNeptuneOptions({ url: "ws://127.0.0.1:1/gremlin", exclusiveWrites: false }).options.exclusiveWrites,
    ).toBe(false);
    expect(
      readNeptuneOptions({ url: "ws://127.0.0.1:1/gremlin", exclusiveWrites: "yes" }).problems,
    ).toContain("exclusiveWrites: must be true or false");
  });
});
