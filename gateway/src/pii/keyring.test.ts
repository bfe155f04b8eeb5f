import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { Keyring } from "./keyring.js";

const dir = mkdtempSync(join(tmpdir(), "prism-keyring-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = () => randomBytes(32).toString("base64");
function keyFile(name: string, text: string, mode = 0o600): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}
const aad = Buffer.from("ns:k1");

describe("Keyring", () => {
  it("loads one base64 key from a 0600 file, named by its fingerprint, and wraps round trip", async () => {
    const keyring = await Keyring.load({ file: keyFile("one.key", `${key()}\n`) });
    expect(keyring.activeId).toMatch(/^kek-[0-9a-f]{12}$/);
    const dek = randomBytes(32);
    const { kekId, wrapped } = keyring.wrap(dek, aad);
    expect(kekId).toBe(keyring.activeId);
    expect(Buffer.from(wrapped).includes(dek)).toBe(false);
    expect(keyring.unwrap(kekId, wrapped, aad).export()).toEqual(dek);
  });

  it("refuses a file readable by group or others", async () => {
    const file = keyFile("open.key", key(), 0o640);
    await expect(Keyring.load({ file })).rejects.toMatchObject({
      kind: "FailedPrecondition",
      reason: "KEYRING_INVALID",
      message: expect.stringContaining("chmod 600"),
    });
    chmodSync(file, 0o604);
    await expect(Keyring.load({ file })).rejects.toMatchObject({ reason: "KEYRING_INVALID" });
  });

  it("refuses keys that are not 32 bytes, without quoting them", async () => {
    const short = randomBytes(16).toString("base64");
    const error = await Keyring.load({ file: keyFile("short.key", short) }).catch((e: Error) => e);
    expect(error).toMatchObject({ reason: "KEYRING_INVALID", message: expect.stringContaining("32 bytes") });
    expect((error as Error).message).not.toContain(short);
    expect(() => Keyring.parse(randomBytes(33).toString("base64"), "test")).toThrow(/32 bytes/);
    expect(() => Keyring.parse("", "test")).toThrow(/empty/);
  });

  it("reads a document of several keys from an environment variable; old keys still unwrap", async () => {
    const old = Keyring.parse(`{"active": "k1", "keys": {"k1": "${key()}"}}`, "test");
    const k1 = key();
    const k2 = key();
    const oldRing = Keyring.parse(`active: k1\nkeys:\n  k1: ${k1}\n`, "test");
    const wrappedOld = oldRing.wrap(randomBytes(32), aad);
    process.env.PRISM_TEST_KEYRING = JSON.stringify({ active: "k2", keys: { k1, k2 } });
    try {
      const keyring = await Keyring.load({ env: "PRISM_TEST_KEYRING" });
      expect(keyring.ids).toEqual(["k2", "k1"]);
      expect(keyring.wrap(randomBytes(32), aad).kekId).toBe("k2");
      expect(keyring.unwrap("k1", wrappedOld.wrapped, aad).symmetricKeySize).toBe(32);
      // Same id, different key: the wrapped key does not authenticate.
      expect(() => old.unwrap("k1", wrappedOld.wrapped, aad)).toThrow(
        expect.objectContaining({ reason: "DATA_KEY_UNAVAILABLE" }),
      );
    } finally {
      delete process.env.PRISM_TEST_KEYRING;
    }
    await expect(Keyring.load({ env: "PRISM_TEST_KEYRING" })).rejects.toMatchObject({
      reason: "KEYRING_INVALID",
    });
  });

  it("refuses a document whose active key is missing, and unknown or altered wrapping", () => {
    expect(() => Keyring.parse(`{"active": "k9", "keys": {"k1": "${key()}"}}`, "test")).toThrow(/active/);
    const keyring = Keyring.parse(key(), "test");
    const { kekId, wrapped } = keyring.wrap(randomBytes(32), aad);
    expect(() => keyring.unwrap("other", wrapped, aad)).toThrow(/lacks/);
    expect(() => keyring.unwrap(kekId, wrapped, Buffer.from("ns:k2"))).toThrow(/does not unwrap/);
    const altered = Buffer.from(wrapped);
    altered[altered.length - 1]! ^= 1;
    expect(() => keyring.unwrap(kekId, altered, aad)).toThrow(/does not unwrap/);
  });

  it("never prints key bytes", () => {
    const text = key();
    const keyring = Keyring.parse(text, "test");
    expect(inspect(keyring, { depth: 5 })).not.toContain(text);
    expect(JSON.stringify(keyring)).not.toContain(text);
  });
});
