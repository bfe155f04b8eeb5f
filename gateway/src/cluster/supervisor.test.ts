import { describe, expect, it } from "vitest";
import { afterCrash, SUPERVISOR_DEFAULTS } from "./supervisor.js";

describe("a crashed worker's restart", () => {
  it("doubles the delay with each crash in a row, up to the maximum", () => {
    const settings = { ...SUPERVISOR_DEFAULTS, maxCrashes: 10 };
    const delays: (number | undefined)[] = [];
    let crashes = 0;
    for (let i = 0; i < 8; i++) {
      const next = afterCrash(crashes, 1000, settings);
      crashes = next.crashes;
      delays.push(next.delayMs);
    }
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it("gives up after maxCrashes in a row", () => {
    let next = { crashes: 0, delayMs: 0 as number | undefined };
    for (let i = 0; i < SUPERVISOR_DEFAULTS.maxCrashes; i++) {
      next = afterCrash(next.crashes, 0, SUPERVISOR_DEFAULTS);
      expect(next.delayMs).toBeDefined();
    }
    expect(afterCrash(next.crashes, 0, SUPERVISOR_DEFAULTS)).toEqual({ crashes: 6, delayMs: undefined });
  });

  it("starts a fresh count for a worker that served long enough", () => {
    expect(afterCrash(4, SUPERVISOR_DEFAULTS.stableMs, SUPERVISOR_DEFAULTS)).toEqual({
      crashes: 1,
      delayMs: 250,
    });
    expect(afterCrash(4, SUPERVISOR_DEFAULTS.stableMs - 1, SUPERVISOR_DEFAULTS)).toEqual({
      crashes: 5,
      delayMs: 4000,
    });
  });
});
