import { MaskStyle, PiiKind } from "@prism/proto/prism/options/v1/options";
import { describe, expect, it } from "vitest";
import { FULL, KEEP_MAX, redactPii } from "./redact.js";

const KEY = new Uint8Array(32).fill(7);
const OTHER_KEY = new Uint8Array(32).fill(8);

/** kind → [value, its PARTIAL mask]. */
const PARTIAL: Record<string, [PiiKind, string, string]> = {
  email: [PiiKind.EMAIL, "jane.doe@example.com", "j***@example.com"],
  name: [PiiKind.NAME, "Ada  Lovelace", "A*** L***"],
  phone: [PiiKind.PHONE, "+1 (555) 010-1234", "***-***-1234"],
  address: [PiiKind.ADDRESS, "221B Baker Street", "*** Street"],
  ip: [PiiKind.IP, "192.168.10.77", "192.168.*.*"],
  ssn: [PiiKind.SSN, "078-05-1120", "***-**-1120"],
  credit_card: [PiiKind.CREDIT_CARD, "4242 4242 4242 4242", "**** **** **** 4242"],
  free_text: [PiiKind.FREE_TEXT, "call me at home, I live at 12 Elm St", FULL],
  date_of_birth: [PiiKind.DATE_OF_BIRTH, "1990-07-14", "1990-**-**"],
  government_id: [PiiKind.GOVERNMENT_ID, "X1234567Z", "***67Z"],
  unspecified: [PiiKind.UNSPECIFIED, "anything", FULL],
};

describe("redactPii", () => {
  for (const [name, [kind, value, masked]] of Object.entries(PARTIAL)) {
    describe(name, () => {
      it("PARTIAL keeps only the structure, and UNSPECIFIED means PARTIAL", () => {
        expect(redactPii(value, kind, MaskStyle.PARTIAL, KEY)).toBe(masked);
        expect(redactPii(value, kind, MaskStyle.UNSPECIFIED, KEY)).toBe(masked);
      });

      it("FULL replaces the whole value", () => {
        expect(redactPii(value, kind, MaskStyle.FULL, KEY)).toBe(FULL);
      });

      it("HASH is stable for equal values, differs for others, and depends on the key", () => {
        const hash = redactPii(value, kind, MaskStyle.HASH, KEY);
        expect(hash).toMatch(/^hash:[0-9a-f]{24}$/);
        expect(redactPii(value, kind, MaskStyle.HASH, KEY)).toBe(hash);
        expect(redactPii(`${value}x`, kind, MaskStyle.HASH, KEY)).not.toBe(hash);
        expect(redactPii(value, kind, MaskStyle.HASH, OTHER_KEY)).not.toBe(hash);
      });

      it("keeps the empty string empty in every style", () => {
        for (const style of [MaskStyle.PARTIAL, MaskStyle.FULL, MaskStyle.HASH]) {
          expect(redactPii("", kind, style, KEY)).toBe("");
        }
      });

      it("never returns the clear value, and bounds the mask of a very long value", () => {
        const long = value.repeat(50_000);
        for (const style of [MaskStyle.PARTIAL, MaskStyle.FULL, MaskStyle.HASH]) {
          const out = redactPii(long, kind, style, KEY);
          expect(out).not.toBe(long);
          expect(out.length).toBeLessThanOrEqual(KEEP_MAX + 40);
          expect(redactPii(value, kind, style, KEY)).not.toBe(value);
        }
      });
    });
  }

  it("HASH of the same text differs between kinds", () => {
    expect(redactPii("12345", PiiKind.SSN, MaskStyle.HASH, KEY)).not.toBe(
      redactPii("12345", PiiKind.PHONE, MaskStyle.HASH, KEY),
    );
  });

  it("never splits a unicode character and keeps unicode domains", () => {
    expect(redactPii("😀user@bücher.de", PiiKind.EMAIL, MaskStyle.PARTIAL, KEY)).toBe("😀***@bücher.de");
    expect(redactPii("Émile Zoë", PiiKind.NAME, MaskStyle.PARTIAL, KEY)).toBe("É*** Z***");
    expect(redactPii("𝒜da", PiiKind.NAME, MaskStyle.PARTIAL, KEY)).toBe("𝒜***");
    expect(redactPii("Ünïcödé", PiiKind.FREE_TEXT, MaskStyle.HASH, KEY)).toMatch(/^hash:/);
  });

  it("masks values that do not look like their kind entirely", () => {
    expect(redactPii("no-at-sign", PiiKind.EMAIL, MaskStyle.PARTIAL, KEY)).toBe("n***");
    expect(redactPii("12", PiiKind.PHONE, MaskStyle.PARTIAL, KEY)).toBe(FULL);
    expect(redactPii("1234", PiiKind.CREDIT_CARD, MaskStyle.PARTIAL, KEY)).toBe(FULL);
    expect(redactPii("not an ip", PiiKind.IP, MaskStyle.PARTIAL, KEY)).toBe(FULL);
    expect(redactPii("2001:db8:85a3::8a2e:370:7334", PiiKind.IP, MaskStyle.PARTIAL, KEY)).toBe("2001:db8:*");
    expect(redactPii("14 July 1990", PiiKind.DATE_OF_BIRTH, MaskStyle.PARTIAL, KEY)).toBe(FULL);
    expect(redactPii("Springfield", PiiKind.ADDRESS, MaskStyle.PARTIAL, KEY)).toBe(FULL);
    expect(redactPii("AB12", PiiKind.GOVERNMENT_ID, MaskStyle.PARTIAL, KEY)).toBe(FULL);
  });

  it("refuses a HASH key too short to keep masks unguessable", () => {
    expect(() => redactPii("x", PiiKind.EMAIL, MaskStyle.HASH, new Uint8Array(4))).toThrow(/at least 16/);
  });
});
