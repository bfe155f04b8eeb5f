import { describe, expect, it } from "vitest";
import { bar, bytes, count, duration, liveLine, progressLine } from "./progress-bar.js";

describe("progress line", () => {
  it("shows bar, percent, counts, rates, ETA and phase", () => {
    expect(
      progressLine({
        done: 6100,
        total: 10_000,
        unit: "records",
        rate: 1234.4,
        bytesPerSecond: 2_100_000,
        etaMs: 3200,
        phase: "copying",
      }),
    ).toBe("[###############.........] 61% 6,100/10,000 records 1,234 rec/s 2.1 MB/s ETA 3s (copying)");
  });

  it("shows the count alone without a total, and no rate or ETA when unknown", () => {
    expect(progressLine({ done: 3000, total: 0, unit: "records counted", rate: 0, phase: "counting" })).toBe(
      "3,000 records counted (counting)",
    );
  });

  it("caps at 100% when writes grew the data past the total counted at the start", () => {
    expect(progressLine({ done: 120, total: 100, unit: "records" })).toBe(`${bar(1)} 100% 120/100 records`);
  });

  it("fills the bar in proportion", () => {
    expect(bar(0, 4)).toBe("[....]");
    expect(bar(0.5, 4)).toBe("[##..]");
    expect(bar(1.5, 4)).toBe("[####]");
  });

  it("formats counts, bytes and durations", () => {
    expect(count(1_234_567n)).toBe("1,234,567");
    expect([bytes(0), bytes(999), bytes(1000), bytes(5_600), bytes(2_100_000), bytes(3e9)]).toEqual([
      "0 B",
      "999 B",
      "1.0 kB",
      "5.6 kB",
      "2.1 MB",
      "3.0 GB",
    ]);
    expect([duration(400), duration(3200), duration(125_000), duration(3_720_000)]).toEqual([
      "0s",
      "3s",
      "2m05s",
      "1h02m",
    ]);
  });
});

describe("live line", () => {
  const output = (isTTY: boolean, columns = 80) => {
    const written: string[] = [];
    return { written, isTTY, columns, write: (text: string) => written.push(text) };
  };

  it("redraws in place on a terminal, cut to its width, and erases itself", () => {
    const terminal = output(true, 12);
    const live = liveLine(terminal);
    live.show("50% copied, 2 MB/s");
    live.show("60%");
    live.clear();
    live.clear();
    expect(terminal.written).toEqual(["\r50% copied,\u001b[K", "\r60%\u001b[K", "\r\u001b[K"]);
  });

  it("writes nothing when the output is not a terminal", () => {
    const pipe = output(false);
    const live = liveLine(pipe);
    live.show("50%");
    live.clear();
    expect(pipe.written).toEqual([]);
  });
});
