import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteFile } from "../config/sqlite-connection.js";
import { DataKeys } from "./data-keys.js";
import { AesFieldCipher, SEALED_OVERHEAD } from "./field-cipher.js";
import { SqliteKeyStore } from "./key-store.js";
import { Keyring } from "./keyring.js";

const dir = mkdtempSync(join(tmpdir(), "prism-cipher-"));
const db = openSqliteFile(join(dir, "config.db"));
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const keyring = Keyring.parse(randomBytes(32).toString("base64"), "test");
const keys = new DataKeys(keyring, new SqliteKeyStore(db), { currentKeyTtlMs: 60_000 });
const cipher = new AesFieldCipher(keys);
const text = (s: string) => new TextEncoder().encode(s);
const EMAIL = text("jane.doe@example.com");

describe("AesFieldCipher", () => {
  it("round-trips, never shows the plaintext, and uses a fresh IV each time", async () => {
    const a = await cipher.seal("users", EMAIL);
    const b = await cipher.seal("users", EMAIL);
    expect(a.length).toBe(SEALED_OVERHEAD + EMAIL.length);
    expect(Buffer.from(a).includes(Buffer.from(EMAIL))).toBe(false);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(await cipher.open("users", a)).toEqual(Buffer.from(EMAIL));
    expect(await cipher.open("users", await cipher.seal("users", new Uint8Array()))).toHaveLength(0);
    expect(cipher.keyIdOf(a)).toBe(await cipher.currentKeyId("users"));
  });

  it("refuses a tampered value, whichever byte changed", async () => {
    const sealed = await cipher.seal("users", EMAIL);
    for (const at of [10, 20, 30, sealed.length - 1]) {
      const altered = Uint8Array.from(sealed);
      altered[at]! ^= 0x40;
      await expect(cipher.open("users", altered)).rejects.toMatchObject({
        kind: "Internal",
        reason: "SEALED_VALUE_CORRUPT",
      });
    }
    await expect(cipher.open("users", sealed.subarray(0, SEALED_OVERHEAD - 1))).rejects.toMatchObject({
      reason: "SEALED_VALUE_CORRUPT",
    });
    const otherVersion = Uint8Array.from(sealed);
    otherVersion[0] = 2;
    expect(() => cipher.keyIdOf(otherVersion)).toThrow(/format version 2/);
  });

  it("refuses a value moved to another namespace", async () => {
    const sealed = await cipher.seal("users", EMAIL);
    // The key id names a key of "users" only.
    await expect(cipher.open("orders", sealed)).rejects.toMatchObject({ reason: "DATA_KEY_UNAVAILABLE" });
    // Even under the same key (were ids shared), the namespace is authenticated data.
    const forged = new AesFieldCipher({
      current: (ns: string) => keys.current(ns === "orders" ? "users" : ns),
      get: (_ns: string, id: string) => keys.get("users", id),
    } as unknown as DataKeys);
    const moved = await forged.seal("orders", EMAIL);
    await expect(forged.open("users", moved)).rejects.toMatchObject({ reason: "SEALED_VALUE_CORRUPT" });
    expect(await forged.open("orders", moved)).toEqual(Buffer.from(EMAIL));
  });

  it("after RotateKey, seals with the new key and still opens the old data", async () => {
    const before = await cipher.seal("profiles", EMAIL);
    const oldId = cipher.keyIdOf(before);
    const { current, previous } = await keys.rotate("profiles");
    expect(previous).toEqual([oldId]);
    const after = await cipher.seal("profiles", EMAIL);
    expect(cipher.keyIdOf(after)).toBe(current.id);
    expect(current.id).not.toBe(oldId);
    expect(await cipher.open("profiles", before)).toEqual(Buffer.from(EMAIL));
    expect(await cipher.open("profiles", after)).toEqual(Buffer.from(EMAIL));

    // Another gateway (own cache, same store) opens both, and sees the rotation.
    const peer = new AesFieldCipher(new DataKeys(keyring, new SqliteKeyStore(db)));
    expect(await peer.open("profiles", before)).toEqual(Buffer.from(EMAIL));
    expect(await peer.currentKeyId("profiles")).toBe(current.id);
  });

  it("cannot open anything under a keyring that lacks the wrapping key", async () => {
    const sealed = await cipher.seal("users", EMAIL);
    const stranger = Keyring.parse(randomBytes(32).toString("base64"), "test");
    const other = new AesFieldCipher(new DataKeys(stranger, new SqliteKeyStore(db)));
    await expect(other.open("users", sealed)).rejects.toMatchObject({ reason: "DATA_KEY_UNAVAILABLE" });
  });
});
