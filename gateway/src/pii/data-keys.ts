import { type KeyObject, randomBytes } from "node:crypto";
import { PrismError } from "@prism/core";
import type { KeyStore, StoredDataKey } from "./key-store.js";
import type { Keyring } from "./keyring.js";

/** A data key ready to use. */
export interface DataKey {
  readonly id: string;
  readonly key: KeyObject;
  readonly createdAt: number;
}

/** Tuning; tests shorten the cache. */
export interface DataKeysOptions {
  /**
   * How long a gateway keeps sealing with the current key it read before looking again: after
   * a rotation by another gateway, this one seals with the old key for at most this long.
   * Default 10 s.
   */
  currentKeyTtlMs?: number;
}

const DEK_BYTES = 32;
/** Rotations racing one another: each retry reads the winner first. */
const MAX_INSERT_ATTEMPTS = 5;

/**
 * Per-namespace data keys (DEKs): created on first use, rotated on demand, stored only wrapped
 * under the keyring's active key-encryption key, unwrapped once and cached in memory. Keys by id
 * are immutable and cached for good; which key is current is re-read after `currentKeyTtlMs`.
 * Never logs or returns key bytes.
 *
 * @example
 * const keys = new DataKeys(keyring, new SqliteKeyStore(db));
 * const { id, key } = await keys.current("user-profiles");
 */
export class DataKeys {
  private readonly ttlMs: number;
  private readonly byId = new Map<string, Promise<DataKey>>();
  private readonly currents = new Map<string, { key: Promise<DataKey>; readAt: number }>();

  constructor(
    private readonly keyring: Keyring | undefined,
    private readonly store: KeyStore,
    options: DataKeysOptions = {},
  ) {
    this.ttlMs = options.currentKeyTtlMs ?? 10_000;
  }

  /** See {@link DataKeysOptions.currentKeyTtlMs}. */
  get currentKeyTtlMs(): number {
    return this.ttlMs;
  }

  /**
   * The key new seals of `namespace` use; the namespace's first key is made here.
   *
   * @example const { id, key } = await keys.current("user-profiles")
   */
  current(namespace: string): Promise<DataKey> {
    const cached = this.currents.get(namespace);
    if (cached && Date.now() - cached.readAt < this.ttlMs) return cached.key;
    const key = this.loadCurrent(namespace);
    this.currents.set(namespace, { key, readAt: Date.now() });
    key.catch(() => this.currents.delete(namespace));
    return key;
  }

  /**
   * The key `id` of `namespace`, whichever generation. Internal (DATA_KEY_UNAVAILABLE) when the
   * store has no such key — the sealed value names a key this store never held.
   *
   * @example const key = await keys.get("user-profiles", keyIdOf(sealed))
   */
  get(namespace: string, id: string): Promise<DataKey> {
    const cacheKey = `${namespace}\u0000${id}`;
    let key = this.byId.get(cacheKey);
    if (!key) {
      key = this.load(namespace, id);
      this.byId.set(cacheKey, key);
      key.catch(() => this.byId.delete(cacheKey));
    }
    return key;
  }

  /**
   * Makes a new current key for `namespace`; earlier ones stay to open old data. Two rotations
   * racing (on any gateways sharing the store) both end with the same new key.
   *
   * @example const { current, previous } = await keys.rotate("user-profiles")
   */
  async rotate(namespace: string): Promise<{ current: DataKey; previous: string[] }> {
    const before = await this.store.current(namespace);
    const stored = await this.insertAfter(namespace, before);
    const key = this.unwrapped(namespace, stored);
    this.currents.set(namespace, { key: Promise.resolve(key), readAt: Date.now() });
    const previous = (await this.store.list(namespace)).filter((k) => k.id !== stored.id).map((k) => k.id);
    return { current: key, previous };
  }

  private async loadCurrent(namespace: string): Promise<DataKey> {
    const stored = (await this.store.current(namespace)) ?? (await this.insertAfter(namespace, undefined));
    return this.unwrapped(namespace, stored);
  }

  private async load(namespace: string, id: string): Promise<DataKey> {
    const stored = await this.store.byId(namespace, id);
    if (!stored) {
      throw new PrismError(
        "Internal",
        `a sealed value of namespace ${namespace} names data key ${id}, which the key store lacks`,
        {
          reason: "DATA_KEY_UNAVAILABLE",
        },
      );
    }
    return this.unwrapped(namespace, stored);
  }

  /** Inserts the generation after `after`; when another gateway got there first, its key wins. */
  private async insertAfter(namespace: string, after: StoredDataKey | undefined): Promise<StoredDataKey> {
    const keyring = this.requireKeyring();
    let previous = after;
    for (let attempt = 0; attempt < MAX_INSERT_ATTEMPTS; attempt++) {
      const id = randomBytes(8).toString("hex");
      const dek = randomBytes(DEK_BYTES);
      const { kekId, wrapped } = keyring.wrap(dek, wrappingAad(namespace, id));
      dek.fill(0);
      const key: StoredDataKey = {
        id,
        generation: (previous?.generation ?? 0) + 1,
        kekId,
        wrapped,
        createdAt: Date.now(),
      };
      if (await this.store.insert(namespace, key)) return key;
      const winner = await this.store.current(namespace);
      if (winner && winner.generation > (after?.generation ?? 0)) return winner;
      previous = winner;
    }
    throw new PrismError("Unavailable", `could not create a data key for namespace ${namespace}; retry`, {
      reason: "UNAVAILABLE",
    });
  }

  private unwrapped(namespace: string, stored: StoredDataKey): DataKey {
    const cacheKey = `${namespace}\u0000${stored.id}`;
    const key = this.requireKeyring().unwrap(stored.kekId, stored.wrapped, wrappingAad(namespace, stored.id));
    const dataKey: DataKey = { id: stored.id, key, createdAt: stored.createdAt };
    this.byId.set(cacheKey, Promise.resolve(dataKey));
    return dataKey;
  }

  private requireKeyring(): Keyring {
    if (this.keyring) return this.keyring;
    throw new PrismError(
      "FailedPrecondition",
      "encrypted fields need a keyring: set pii.keyring in the gateway config",
      { reason: "KEYRING_NOT_CONFIGURED" },
    );
  }
}

/** Binds a wrapped key to its namespace and id: a row copied elsewhere does not unwrap. */
function wrappingAad(namespace: string, id: string): Uint8Array {
  return Buffer.from(`prism-dek:v1:${namespace}:${id}`, "utf8");
}
