import { describe, expect, it } from "vitest";
import { compareUtf8 } from "./timeseries.js";

describe("compareUtf8", () => {
  it("orders strings as their UTF-8 bytes, surrogate pairs and units above them included", () => {
    const alphabet = ["a", "b", "B", "é", "\u07ff", "\ud7ff", "\ue000", "\uffff", "😀", "😁", "𐀀", ""];
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const word = () =>
      Array.from(
        { length: Math.floor(random() * 4) },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join("");
    for (let i = 0; i < 5000; i++) {
      const [x, y] = [word(), word()];
      const expected = Math.sign(Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(compareUtf8(x, y), `${JSON.stringify(x)} vs ${JSON.stringify(y)}`).toBe(expected);
    }
    expect(compareUtf8("\ud83d\ude00", "\ud83d\ude01")).toBe(-1);
  });
});
