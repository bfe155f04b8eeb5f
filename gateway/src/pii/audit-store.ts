import type Database from "better-sqlite3";
import type { AuditOperation } from "./contract.js";

/** One audit log entry as stored. */
export interface AuditEntry {
  /** From 1, without gaps. */
  readonly seq: number;
  /** Epoch ms, the appending gateway's clock. */
  readonly time: number;
  readonly principal: string;
  readonly namespace: string;
  readonly id: string;
  /** Field paths, sorted and unique. Never values. */
  readonly fields: readonly string[];
  readonly operation: AuditOperation;
  /** Hex SHA-256 over the previous entry's hash and this entry's canonical form. */
  readonly hash: string;
}

/** The last entry's seq and hash; seq 0 and 64 zeros before the first. */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

export const GENESIS: AuditHead = Object.freeze({ seq: 0, hash: "0".repeat(64) });

/** Filters of a query; undefined = any. Times are epoch ms, `until` exclusive. */
export interface AuditFilter {
  readonly namespace?: string;
  readonly principal?: string;
  readonly since?: number;
  readonly until?: number;
}

/**
 * Where the audit log lives: the config store's database, own tables. `append` runs under the
 * log's write lock (SQLite's immediate transaction; a row lock on the head row in PostgreSQL), so
 * appenders in any number of gateways extend one linear chain.
 */
export interface AuditStore {
  /**
   * Reads the head under the write lock, stores the entries `build` makes after it and moves
   * the head to the last of them, in one transaction.
   *
   * @example await store.append((head) => [entryAfter(head, record)])
   */
  append(build: (head: AuditHead) => AuditEntry[]): Promise<void>;
  /**
   * Entries matching `filter` with seq > `afterSeq`, ascending, at most `limit`.
   *
   * @example const page = await store.query({ namespace: "user-profiles" }, 0, 100)
   */
  query(filter: AuditFilter, afterSeq: number, limit: number): Promise<AuditEntry[]>;
  /**
   * The head as stored (it survives deleting the tail, which verification then reports).
   *
   * @example const { seq } = await store.head()
   */
  head(): Promise<AuditHead>;
}

/**
 * The audit log in the config store's SQLite file. `BEGIN IMMEDIATE` takes SQLite's write lock
 * before the head is read, so two processes sharing the file cannot both extend the same head.
 *
 * @example const audit = new SqliteAuditStore(openSqliteFile(".prism-data/config.db"))
 */
export class SqliteAuditStore implements AuditStore {
  private readonly statements;
  private readonly appendTx;

  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS pii_audit (
        seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, principal TEXT NOT NULL, namespace TEXT NOT NULL,
        record_id TEXT NOT NULL, fields TEXT NOT NULL, operation TEXT NOT NULL, hash TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS pii_audit_namespace ON pii_audit (namespace, seq);
      CREATE INDEX IF NOT EXISTS pii_audit_principal ON pii_audit (principal, seq);
      CREATE TABLE IF NOT EXISTS pii_audit_head (
        one INTEGER PRIMARY KEY CHECK (one = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
      INSERT OR IGNORE INTO pii_audit_head (one, seq, hash) VALUES (1, 0, '${GENESIS.hash}');`);
    this.statements = {
      head: db.prepare("SELECT seq, hash FROM pii_audit_head WHERE one = 1"),
      insert:
        db.prepare(`INSERT INTO pii_audit (seq, time, principal, namespace, record_id, fields, operation, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      moveHead: db.prepare("UPDATE pii_audit_head SET seq = ?, hash = ? WHERE one = 1"),
    };
    this.appendTx = db.transaction((build: (head: AuditHead) => AuditEntry[]) => {
      const entries = build(this.statements.head.get() as AuditHead);
      for (const e of entries) {
        this.statements.insert.run(
          e.seq,
          e.time,
          e.principal,
          e.namespace,
          e.id,
          JSON.stringify(e.fields),
          e.operation,
          e.hash,
        );
      }
      const last = entries.at(-1);
      if (last) this.statements.moveHead.run(last.seq, last.hash);
    });
  }

  async append(build: (head: AuditHead) => AuditEntry[]): Promise<void> {
    this.appendTx.immediate(build);
  }

  async query(filter: AuditFilter, afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const { where, values } = whereOf(filter, afterSeq, () => "?");
    const rows = this.db
      .prepare(`SELECT * FROM pii_audit WHERE ${where} ORDER BY seq LIMIT ?`)
      .all(...values, limit) as AuditRow[];
    return rows.map(fromAuditRow);
  }

  async head(): Promise<AuditHead> {
    return this.statements.head.get() as AuditHead;
  }
}

/**
 * The WHERE clause of a query, with `placeholder(n)` for the n-th value (1-based): `?` for
 * SQLite, `$n` for PostgreSQL. Only placeholders are spliced; values are bound.
 */
export function whereOf(
  filter: AuditFilter,
  afterSeq: number,
  placeholder: (n: number) => string,
): { where: string; values: unknown[] } {
  const values: unknown[] = [afterSeq];
  const clauses = [`seq > ${placeholder(1)}`];
  const add = (column: string, op: string, value: unknown) => {
    values.push(value);
    clauses.push(`${column} ${op} ${placeholder(values.length)}`);
  };
  if (filter.namespace !== undefined) add("namespace", "=", filter.namespace);
  if (filter.principal !== undefined) add("principal", "=", filter.principal);
  if (filter.since !== undefined) add("time", ">=", filter.since);
  if (filter.until !== undefined) add("time", "<", filter.until);
  return { where: clauses.join(" AND "), values };
}

/** An audit row as both stores read it (PostgreSQL returns bigint as string). */
export interface AuditRow {
  seq: number | string;
  time: number | string;
  principal: string;
  namespace: string;
  record_id: string;
  fields: string;
  operation: string;
  hash: string;
}

/** A row whose `fields` column does not parse reads as no fields; verification then reports it. */
export function fromAuditRow(row: AuditRow): AuditEntry {
  let fields: string[] = [];
  try {
    const parsed: unknown = JSON.parse(row.fields);
    if (Array.isArray(parsed)) fields = parsed.map(String);
  } catch {
    // keep [] — the recomputed hash will not match
  }
  return {
    seq: Number(row.seq),
    time: Number(row.time),
    principal: row.principal,
    namespace: row.namespace,
    id: row.record_id,
    fields,
    operation: row.operation as AuditOperation,
    hash: row.hash,
  };
}
