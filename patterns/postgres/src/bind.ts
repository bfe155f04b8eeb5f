import { compareBytes, type KeyPredicate, type KvItem } from "@prism/core";
import type { Statements } from "./sql.js";

/** A write statement in its two forms: plain, and claiming an idempotency key first. */
export type WriteStatement = Statements["put"];

/** A write ready to run: which statement, with which values. */
export interface BoundWrite {
  statement: WriteStatement;
  values: unknown[];
}

/** One row of a page query (see `page` in sql.ts). */
export interface PageRow {
  key: Uint8Array;
  /** Null on the row that only says more rows follow. */
  value: Uint8Array | null;
  chunked: boolean;
  expires_ms: number | null;
  kept: boolean;
}

const EMPTY = new Uint8Array();
const ZERO = Uint8Array.of(0);

/**
 * The inclusive lower key bound of a read: the predicate's start, or — when `after` is past it —
 * the successor of `after` (`after` followed by a zero byte, the smallest key greater than it).
 */
export function lowerBound(predicate: KeyPredicate, after: Uint8Array | undefined): Uint8Array {
  const start = predicate.kind === "range" ? predicate.start : EMPTY;
  if (after === undefined) return start;
  const successor = Buffer.concat([after, ZERO]);
  return compareBytes(successor, start) > 0 ? successor : start;
}

/**
 * Items as the column arrays the put statement unnests: one statement whatever the item count.
 * Keys are sorted (concurrent multi-key upserts then lock rows in one order and cannot deadlock)
 * and de-duplicated, the last item of a key winning as it would in a sequence of puts.
 */
export function itemColumns(namespace: string, id: string, items: readonly KvItem[]): unknown[] {
  const sorted = items.length > 1 ? uniqueByKey(items) : items;
  return [
    namespace,
    id,
    sorted.map((item) => item.key),
    sorted.map((item) => item.value),
    sorted.map((item) => (item.expiresAt === undefined ? null : Math.floor(item.expiresAt))),
    sorted.map((item) => item.chunked === true),
  ];
}

/** The delete statement and values for `predicate`. */
export function deleteWrite(
  sql: Statements,
  namespace: string,
  id: string,
  predicate: KeyPredicate,
): BoundWrite {
  switch (predicate.kind) {
    case "all":
      return { statement: sql.deleteAll, values: [namespace, id] };
    case "keys":
      return { statement: sql.deleteKeys, values: [namespace, id, predicate.keys] };
    case "range":
      return predicate.end === undefined
        ? { statement: sql.deleteFrom, values: [namespace, id, predicate.start] }
        : { statement: sql.deleteRange, values: [namespace, id, predicate.start, predicate.end] };
  }
}

/** Splits page rows into the kept items and whether more follow. */
export function toPage<R extends PageRow, T>(
  rows: R[],
  convert: (row: R) => T,
): { page: T[]; more: boolean } {
  const page: T[] = [];
  let more = false;
  for (const row of rows) {
    if (row.kept) page.push(convert(row));
    else more = true;
  }
  return { page, more };
}

/** A kept page row as an item; optional fields only when set, like every other backend. */
export function toItem(row: PageRow): KvItem {
  const item: KvItem = { key: row.key, value: row.value ?? EMPTY };
  if (row.expires_ms !== null) item.expiresAt = row.expires_ms;
  if (row.chunked) item.chunked = true;
  return item;
}

function uniqueByKey(items: readonly KvItem[]): KvItem[] {
  // A stable sort keeps equal keys in call order, so the last of each run is the one to keep.
  const sorted = [...items].sort((a, b) => compareBytes(a.key, b.key));
  return sorted.filter((item, i) => {
    const next = sorted[i + 1];
    return next === undefined || compareBytes(item.key, next.key) !== 0;
  });
}
