import { describe, expect, it } from "vitest";
import { follow } from "./follow.js";
import { liveLine } from "./progress-bar.js";

describe("following a job", () => {
  it("redraws its line on a terminal while it runs, clears it, and returns the job as it ended", async () => {
    const written: string[] = [];
    const terminal = { isTTY: true, columns: 80, write: (text: string) => written.push(text) };
    const states = [{ done: 1 }, { done: 2 }, { done: 3 }];
    const { job, interrupted } = await follow(
      { done: 0 },
      {
        next: async () => states.shift()!,
        running: (j) => j.done < 3,
        line: (j) => `${j.done} of 3`,
        live: liveLine(terminal),
        pollMs: 1,
      },
    );
    expect(job).toEqual({ done: 3 });
    expect(interrupted).toBe(false);
    expect(written).toEqual(["\r0 of 3\u001b[K", "\r1 of 3\u001b[K", "\r2 of 3\u001b[K", "\r\u001b[K"]);
  });

  it("writes nothing live when the output is not a terminal", async () => {
    const written: string[] = [];
    await follow(
      { done: 0 },
      {
        next: async () => ({ done: 1 }),
        running: (j) => j.done < 1,
        line: () => "x",
        live: liveLine({ write: (text: string) => written.push(text) }),
        pollMs: 1,
      },
    );
    expect(written).toEqual([]);
  });

  it("stops following on SIGINT, the job as last seen", async () => {
    const following = follow(
      { done: 0 },
      {
        next: async () => ({ done: 0 }),
        running: () => true,
        line: () => "",
        live: liveLine({ write: () => 0 }),
        pollMs: 50,
      },
    );
    setTimeout(() => process.emit("SIGINT"), 20);
    expect(await following).toEqual({ job: { done: 0 }, interrupted: true });
  });
});
