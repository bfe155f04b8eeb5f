import { createHash } from "node:crypto";
import { PrismError, throwIfAborted } from "@prism/core";
import { Fingerprint, foreignToken, malformedToken, tokenBytes } from "../services/page-tokens.js";
import {
  type AuditEntry,
  type AuditFilter,
  type AuditHead,
  type AuditStore,
  GENESIS,
} from "./audit-store.js";
import type { AuditRecord, AuditSink } from "./contract.js";

/** Bounds on what one record may carry (records come from the value policy, not clients). */
const LIMITS = { principal: 512, namespace: 256, id: 4096, fields: 1000, field: 512 } as const;
/** Entries one append transaction writes at most. */
const MAX_BATCH = 500;
const VERIFY_PAGE = 1000;
export const DEFAULT_QUERY_LIMIT = 100;
export const MAX_QUERY_LIMIT = 1000;

/** What verification found. */
export interface VerifyResult {
  ok: boolean;
  checked: number;
  /** 0 when ok. */
  firstBadSeq: number;
  problem: string;
}

/**
 * The append-only, hash-chained audit log (ADR-0018). Each entry's hash is
 * `SHA-256(previous hash ‖ canonical(entry))`, the first entry's previous hash 32 zero bytes;
 * `canonical` is the UTF-8 of the JSON array `[seq, time, principal, namespace, id, fields,
 * operation]`. Appends arriving while a transaction is in flight are written together in the next
 * one (group commit); each `append` resolves only once its entry is committed.
 *
 * @example
 * const log = new AuditLog(new SqliteAuditStore(db));
 * await log.append({ principal: "user:jane", namespace: "users", id: "u1", fields: ["email"], operation: "read" });
 * const { ok, firstBadSeq } = await log.verify();
 */
export class AuditLog implements AuditSink {
  private queue: Pending[] = [];
  private flushing = false;

  constructor(readonly store: AuditStore) {}

  append(record: AuditRecord): Promise<void> {
    const checked = validate(record);
    return new Promise((resolve, reject) => {
      this.queue.push({ record: checked, time: Date.now(), resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /**
   * One page of entries matching `filter`, and the token of the next page ("" at the end). The
   * token is bound to the filter.
   *
   * @example const { entries, nextPageToken } = await log.query({ namespace: "users" }, 100, "")
   */
  async query(
    filter: AuditFilter,
    limit: number,
    pageToken: string,
  ): Promise<{ entries: AuditEntry[]; nextPageToken: string }> {
    const bounded = limit <= 0 ? DEFAULT_QUERY_LIMIT : Math.min(limit, MAX_QUERY_LIMIT);
    const fingerprint = filterFingerprint(filter);
    const afterSeq = pageToken === "" ? 0 : decodeToken(pageToken, fingerprint);
    const rows = await this.store.query(filter, afterSeq, bounded + 1);
    const entries = rows.slice(0, bounded);
    const nextPageToken = rows.length > bounded ? encodeToken(fingerprint, entries.at(-1)!.seq) : "";
    return { entries, nextPageToken };
  }

  /**
   * Recomputes the chain from the first entry: every seq follows the one before, every stored
   * hash equals the recomputed one, and the stored head is the last entry. Reports the first
   * entry that fails.
   *
   * @example const result = await log.verify(AbortSignal.timeout(60_000))
   */
  async verify(signal?: AbortSignal): Promise<VerifyResult> {
    const head = await this.store.head();
    let previous: AuditHead = GENESIS;
    let checked = 0;
    for (;;) {
      throwIfAborted(signal);
      const page = await this.store.query({}, previous.seq, VERIFY_PAGE);
      for (const entry of page) {
        if (entry.seq !== previous.seq + 1) {
          return bad(
            checked,
            previous.seq + 1,
            `entry ${previous.seq + 1} is missing (next is ${entry.seq})`,
          );
        }
        const hash = chainHash(previous.hash, entry);
        if (hash !== entry.hash) {
          return bad(checked, entry.seq, `entry ${entry.seq} does not match its hash (altered)`);
        }
        checked++;
        previous = { seq: entry.seq, hash };
      }
      if (page.length < VERIFY_PAGE) break;
    }
    if (head.seq !== previous.seq || head.hash !== previous.hash) {
      const seq = Math.min(head.seq, previous.seq + 1);
      return bad(checked, seq, `the log ends at entry ${previous.seq} but its head names entry ${head.seq}`);
    }
    return { ok: true, checked, firstBadSeq: 0, problem: "" };
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await this.store.append((head) => {
          let previous = head;
          return batch.map(({ record, time }) => {
            const body = { seq: previous.seq + 1, time, ...record };
            const entry = { ...body, hash: chainHash(previous.hash, body) };
            previous = entry;
            return entry;
          });
        });
        for (const pending of batch) pending.resolve();
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    this.flushing = false;
  }
}

interface Pending {
  record: AuditRecord;
  time: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * `SHA-256(previous ‖ canonical(entry))` in hex, `previous` being the 32 bytes of the previous
 * hash (hex).
 */
export function chainHash(previousHex: string, entry: Omit<AuditEntry, "hash">): string {
  return createHash("sha256").update(Buffer.from(previousHex, "hex")).update(canonical(entry)).digest("hex");
}

/** The canonical form an entry's hash covers (ADR-0018): key order fixed by the array. */
export function canonical(entry: Omit<AuditEntry, "hash">): Buffer {
  const array = [
    entry.seq,
    entry.time,
    entry.principal,
    entry.namespace,
    entry.id,
    entry.fields,
    entry.operation,
  ];
  return Buffer.from(JSON.stringify(array), "utf8");
}

function bad(checked: number, firstBadSeq: number, problem: string): VerifyResult {
  return { ok: false, checked, firstBadSeq, problem };
}

function validate(record: AuditRecord): AuditRecord {
  const tooLong = (what: string, text: string, max: number) => {
    if (text.length === 0 || text.length > max) {
      throw new PrismError("Internal", `audit record: ${what} must be 1 to ${max} characters`);
    }
  };
  tooLong("principal", record.principal, LIMITS.principal);
  tooLong("namespace", record.namespace, LIMITS.namespace);
  tooLong("id", record.id, LIMITS.id);
  if (record.fields.length > LIMITS.fields) {
    throw new PrismError("Internal", `audit record: at most ${LIMITS.fields} fields`);
  }
  for (const field of record.fields) tooLong("a field path", field, LIMITS.field);
  if (record.operation !== "read" && record.operation !== "write") {
    throw new PrismError("Internal", "audit record: operation must be read or write");
  }
  return {
    principal: record.principal,
    namespace: record.namespace,
    id: record.id,
    fields: [...new Set(record.fields)].sort(),
    operation: record.operation,
  };
}

function filterFingerprint(filter: AuditFilter): number {
  return new Fingerprint()
    .text(filter.namespace ?? "\u0000")
    .text(filter.principal ?? "\u0000")
    .text(String(filter.since ?? ""))
    .text(String(filter.until ?? "")).value;
}

/** `fingerprint u32 ‖ afterSeq u64`, base64url. */
function encodeToken(fingerprint: number, afterSeq: number): string {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32BE(fingerprint, 0);
  bytes.writeBigUInt64BE(BigInt(afterSeq), 4);
  return bytes.toString("base64url");
}

function decodeToken(token: string, fingerprint: number): number {
  const bytes = tokenBytes(token, "page_token", 32);
  if (bytes.length !== 12) throw malformedToken("page_token");
  if (bytes.readUInt32BE(0) !== fingerprint) throw foreignToken("page_token", "query (filters)");
  return Number(bytes.readBigUInt64BE(4));
}
