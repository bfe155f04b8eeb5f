import type Database from "better-sqlite3";

/** One namespace's data key as stored: only ever wrapped under a key-encryption key. */
export interface StoredDataKey {
  /** 16 hex digits, random: what sealed values name. */
  readonly id: string;
  /** 1, 2, … per namespace; the highest is the current key. */
  readonly generation: number;
  /** The key-encryption key `wrapped` is under. */
  readonly kekId: string;
  /** `iv ‖ tag ‖ ciphertext` of the 32-byte key (see `Keyring.wrap`). */
  readonly wrapped: Uint8Array;
  /** Epoch ms. */
  readonly createdAt: number;
}

/**
 * Where wrapped data keys live: beside the config store (the same SQLite file, or the same
 * PostgreSQL schema), so every gateway sharing that store shares the keys. A namespace's
 * generations are unique, so two gateways creating or rotating a key at once cannot both make a
 * "current" key: one insert wins and the other reads the winner.
 */
export interface KeyStore {
  /**
   * The namespace's highest-generation key, or undefined before its first.
   *
   * @example const current = await store.current("user-profiles")
   */
  current(namespace: string): Promise<StoredDataKey | undefined>;
  /**
   * One key by id, or undefined.
   *
   * @example const key = await store.byId("user-profiles", "3f2a9c0d11e4b7a8")
   */
  byId(namespace: string, id: string): Promise<StoredDataKey | undefined>;
  /**
   * Every key of the namespace, newest first.
   *
   * @example const ids = (await store.list("user-profiles")).map((k) => k.id)
   */
  list(namespace: string): Promise<StoredDataKey[]>;
  /**
   * Adds a key unless the namespace already has one of `key.generation`: false then, and
   * nothing changed.
   *
   * @example if (!(await store.insert("user-profiles", key))) key = (await store.current("user-profiles"))!
   */
  insert(namespace: string, key: StoredDataKey): Promise<boolean>;
}

const COLUMNS = "key_id, generation, kek_id, wrapped, created_at";

/**
 * The key store in the config store's SQLite file (its own table). Inserts are single
 * statements, so SQLite's write lock and the unique (namespace, generation) serialise gateways
 * sharing the file.
 *
 * @example const keys = new SqliteKeyStore(openSqliteFile(".prism-data/config.db"))
 */
export class SqliteKeyStore implements KeyStore {
  private readonly statements;

  constructor(db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS pii_data_keys (
      namespace TEXT NOT NULL, key_id TEXT NOT NULL, generation INTEGER NOT NULL, kek_id TEXT NOT NULL,
      wrapped BLOB NOT NULL, created_at INTEGER NOT NULL,
      PRIMARY KEY (namespace, key_id), UNIQUE (namespace, generation))`);
    this.statements = {
      current: db.prepare(
        `SELECT ${COLUMNS} FROM pii_data_keys WHERE namespace = ? ORDER BY generation DESC LIMIT 1`,
      ),
      byId: db.prepare(`SELECT ${COLUMNS} FROM pii_data_keys WHERE namespace = ? AND key_id = ?`),
      list: db.prepare(`SELECT ${COLUMNS} FROM pii_data_keys WHERE namespace = ? ORDER BY generation DESC`),
      insert: db.prepare(`INSERT INTO pii_data_keys (namespace, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT DO NOTHING`),
    };
  }

  async current(namespace: string): Promise<StoredDataKey | undefined> {
    const row = this.statements.current.get(namespace) as KeyRow | undefined;
    return row && fromKeyRow(row);
  }

  async byId(namespace: string, id: string): Promise<StoredDataKey | undefined> {
    const row = this.statements.byId.get(namespace, id) as KeyRow | undefined;
    return row && fromKeyRow(row);
  }

  async list(namespace: string): Promise<StoredDataKey[]> {
    return (this.statements.list.all(namespace) as KeyRow[]).map(fromKeyRow);
  }

  async insert(namespace: string, key: StoredDataKey): Promise<boolean> {
    const { changes } = this.statements.insert.run(
      namespace,
      key.id,
      key.generation,
      key.kekId,
      Buffer.from(key.wrapped),
      key.createdAt,
    );
    return changes > 0;
  }
}

/** A key row as both stores read it (PostgreSQL returns bigint as string). */
export interface KeyRow {
  key_id: string;
  generation: number | string;
  kek_id: string;
  wrapped: Buffer;
  created_at: number | string;
}

export function fromKeyRow(row: KeyRow): StoredDataKey {
  return {
    id: row.key_id,
    generation: Number(row.generation),
    kekId: row.kek_id,
    wrapped: new Uint8Array(row.wrapped),
    createdAt: Number(row.created_at),
  };
}
