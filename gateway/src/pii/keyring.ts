import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { PrismError } from "@prism/core";
import { parse as parseYaml } from "yaml";

/** Where the key-encryption keys come from (`pii.keyring` in the gateway config). */
export type KeyringSource = { readonly file: string } | { readonly env: string };

/** Largest keyring document read: a few hundred keys at most. */
const MAX_KEYRING_BYTES = 64 << 10;
const KEY_BYTES = 32;
const KEK_ID = /^[A-Za-z0-9._-]{1,64}$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The key-encryption keys (KEKs, AES-256) that wrap the per-namespace data keys. One is active
 * (new data keys are wrapped under it); the others stay to unwrap data keys wrapped earlier, so a
 * KEK is rotated by adding a new one and making it active. Keys live in `KeyObject`s, which
 * print as `SecretKeyObject { … }`, never their bytes.
 *
 * The source holds either one base64 key (its id is `kek-` + 12 hex digits of its SHA-256) or a
 * YAML/JSON document naming several:
 *
 * @example
 * // keyring.yaml (mode 0600): { active: kek-2, keys: { kek-1: "base64…", kek-2: "base64…" } }
 * const keyring = await Keyring.load({ file: "/etc/prism/keyring.yaml" });
 */
export class Keyring {
  private constructor(
    readonly activeId: string,
    private readonly keys: ReadonlyMap<string, KeyObject>,
  ) {}

  /**
   * Reads the source. A file readable by group or others is refused, as are keys that are not
   * exactly 32 bytes of base64 (FailedPrecondition, KEYRING_INVALID); errors never quote key text.
   */
  static async load(source: KeyringSource): Promise<Keyring> {
    return Keyring.parse(await readSource(source), describe(source));
  }

  /** Parses keyring text (what a file or variable holds); `where` names it in errors. */
  static parse(text: string, where: string): Keyring {
    const trimmed = text.trim();
    if (trimmed === "") throw invalid(`${where} is empty`);
    if (/^[A-Za-z0-9+/=_-]+$/.test(trimmed)) {
      const key = decodeKey(trimmed, where);
      const id = `kek-${createHash("sha256").update(key.export()).digest("hex").slice(0, 12)}`;
      return new Keyring(id, new Map([[id, key]]));
    }
    let doc: unknown;
    try {
      doc = parseYaml(trimmed);
    } catch {
      throw invalid(`${where} is neither one base64 key nor a YAML/JSON keyring document`);
    }
    const { active, keys } = (doc ?? {}) as { active?: unknown; keys?: unknown };
    if (typeof keys !== "object" || keys === null || Array.isArray(keys)) {
      throw invalid(`${where}: "keys" must map key ids to base64 keys`);
    }
    const map = new Map<string, KeyObject>();
    for (const [id, value] of Object.entries(keys)) {
      if (!KEK_ID.test(id))
        throw invalid(`${where}: key id ${JSON.stringify(id.slice(0, 64))} is not [A-Za-z0-9._-]{1,64}`);
      if (typeof value !== "string") throw invalid(`${where}: key ${id} must be a base64 string`);
      map.set(id, decodeKey(value, `${where}: key ${id}`));
    }
    if (map.size === 0) throw invalid(`${where}: "keys" is empty`);
    if (typeof active !== "string" || !map.has(active)) {
      throw invalid(`${where}: "active" must name one of the keys`);
    }
    return new Keyring(active, map);
  }

  /** Ids of every KEK held, the active one first. */
  get ids(): string[] {
    return [this.activeId, ...[...this.keys.keys()].filter((id) => id !== this.activeId)];
  }

  /**
   * Wraps a data key under the active KEK (AES-256-GCM, `aad` binds it to its namespace and id):
   * `iv ‖ tag ‖ ciphertext`.
   *
   * @example const { kekId, wrapped } = keyring.wrap(dek, aad)
   */
  wrap(dataKey: Uint8Array, aad: Uint8Array): { kekId: string; wrapped: Uint8Array } {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.keys.get(this.activeId)!, iv);
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return { kekId: this.activeId, wrapped: Buffer.concat([iv, cipher.getAuthTag(), body]) };
  }

  /**
   * Unwraps what {@link wrap} made. Fails (Internal) when the KEK is no longer in the keyring or
   * the wrapped key or its `aad` was altered.
   *
   * @example const dek = keyring.unwrap(row.kekId, row.wrapped, aad)
   */
  unwrap(kekId: string, wrapped: Uint8Array, aad: Uint8Array): KeyObject {
    const kek = this.keys.get(kekId);
    if (!kek) {
      throw new PrismError(
        "Internal",
        `a data key is wrapped under key-encryption key ${kekId}, which the keyring lacks`,
        {
          reason: "DATA_KEY_UNAVAILABLE",
        },
      );
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", kek, wrapped.subarray(0, IV_BYTES));
      decipher.setAAD(aad);
      decipher.setAuthTag(wrapped.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const key = Buffer.concat([decipher.update(wrapped.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      if (key.length !== KEY_BYTES) throw new Error("unwrapped key has the wrong length");
      return createSecretKey(key);
    } catch (error) {
      throw new PrismError(
        "Internal",
        `a data key wrapped under ${kekId} does not unwrap (altered, or another keyring)`,
        {
          cause: error,
          reason: "DATA_KEY_UNAVAILABLE",
        },
      );
    }
  }
}

async function readSource(source: KeyringSource): Promise<string> {
  if ("env" in source) {
    const value = process.env[source.env];
    if (value === undefined) throw invalid(`environment variable ${source.env} is not set`);
    return value;
  }
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(source.file);
  } catch (error) {
    throw invalid(
      `keyring file ${source.file} cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  if (!info.isFile()) throw invalid(`keyring file ${source.file} is not a regular file`);
  if (process.platform !== "win32" && (info.mode & 0o077) !== 0) {
    throw invalid(
      `keyring file ${source.file} is readable or writable by group or others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  if (info.size > MAX_KEYRING_BYTES) throw invalid(`keyring file ${source.file} is larger than 64 KiB`);
  return readFile(source.file, "utf8");
}

function decodeKey(text: string, where: string): KeyObject {
  const clean = text.trim();
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(clean) ? Buffer.from(clean, "base64") : Buffer.alloc(0);
  if (bytes.length !== KEY_BYTES) {
    throw invalid(`${where} must be ${KEY_BYTES} bytes of base64 (e.g. \`openssl rand -base64 32\`)`);
  }
  return createSecretKey(bytes);
}

function describe(source: KeyringSource): string {
  return "env" in source ? `environment variable ${source.env}` : `keyring file ${source.file}`;
}

function invalid(message: string): PrismError {
  return new PrismError("FailedPrecondition", `pii.keyring: ${message}`, { reason: "KEYRING_INVALID" });
}
