import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { PrismError } from "@prism/core";
import type { FieldCipher } from "./contract.js";
import type { DataKeys } from "./data-keys.js";

/**
 * The sealed format, version 1:
 *
 *     0x01 | key id (8 bytes) | iv (12 bytes) | tag (16 bytes) | ciphertext
 *
 * AES-256-GCM with a random 96-bit IV under the namespace's data key; the additional data is the
 * 9-byte header followed by the namespace name (UTF-8), so a value copied to another namespace,
 * or given another key id, fails to open.
 */
const VERSION = 0x01;
const KEY_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES;
/** The smallest sealed value: header, iv and tag around an empty plaintext. */
export const SEALED_OVERHEAD = HEADER_BYTES + IV_BYTES + TAG_BYTES;
/** A field larger than this is not sealed (the gateway's own value limit is far below it). */
const MAX_PLAINTEXT_BYTES = 64 << 20;

/**
 * {@link FieldCipher} with node:crypto AES-256-GCM and {@link DataKeys}. A sealed value that
 * fails authentication (tampered, truncated, moved from another namespace) is Internal with
 * reason SEALED_VALUE_CORRUPT: the client cannot fix it and the operator must see it.
 *
 * @example
 * const cipher = new AesFieldCipher(keys);
 * const sealed = await cipher.seal("user-profiles", new TextEncoder().encode("jane@example.com"));
 * const clear = await cipher.open("user-profiles", sealed);
 */
export class AesFieldCipher implements FieldCipher {
  constructor(private readonly keys: DataKeys) {}

  async seal(namespace: string, plaintext: Uint8Array): Promise<Uint8Array> {
    if (plaintext.length > MAX_PLAINTEXT_BYTES) {
      throw new PrismError("Internal", "a field to seal is larger than 64 MiB");
    }
    const { id, key } = await this.keys.current(namespace);
    const header = Buffer.alloc(HEADER_BYTES);
    header[0] = VERSION;
    header.write(id, 1, "hex");
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(aad(header, namespace));
    const body = [cipher.update(plaintext), cipher.final()];
    return Buffer.concat([header, iv, cipher.getAuthTag(), ...body]);
  }

  async open(namespace: string, sealed: Uint8Array): Promise<Uint8Array> {
    const id = this.keyIdOf(sealed);
    const { key } = await this.keys.get(namespace, id);
    const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const header = bytes.subarray(0, HEADER_BYTES);
    try {
      const decipher = createDecipheriv(
        "aes-256-gcm",
        key,
        bytes.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES),
      );
      decipher.setAAD(aad(header, namespace));
      decipher.setAuthTag(bytes.subarray(HEADER_BYTES + IV_BYTES, SEALED_OVERHEAD));
      return Buffer.concat([decipher.update(bytes.subarray(SEALED_OVERHEAD)), decipher.final()]);
    } catch (error) {
      throw corrupt(namespace, "does not authenticate (altered, or sealed for another namespace)", error);
    }
  }

  keyIdOf(sealed: Uint8Array): string {
    if (sealed.length < SEALED_OVERHEAD) throw corrupt(undefined, "is too short to be sealed");
    if (sealed[0] !== VERSION) throw corrupt(undefined, `has unknown format version ${sealed[0]}`);
    return Buffer.from(sealed.subarray(1, HEADER_BYTES)).toString("hex");
  }

  async currentKeyId(namespace: string): Promise<string> {
    return (await this.keys.current(namespace)).id;
  }
}

function aad(header: Buffer, namespace: string): Buffer {
  return Buffer.concat([header, Buffer.from(namespace, "utf8")]);
}

function corrupt(namespace: string | undefined, what: string, cause?: unknown): PrismError {
  const where = namespace === undefined ? "" : ` of namespace ${namespace}`;
  return new PrismError("Internal", `a sealed field${where} ${what}`, {
    reason: "SEALED_VALUE_CORRUPT",
    ...(cause !== undefined && { cause }),
  });
}
