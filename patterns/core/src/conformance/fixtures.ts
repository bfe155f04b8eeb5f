import { randomBytes } from "node:crypto";
import type { KeyValueBackend, KvItem } from "../keyvalue.js";

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export const b = (text: string): Uint8Array => encoder.encode(text);

/** A fresh namespace name, so tests never see each other's data. */
export const freshNamespace = (): string => `conf-${randomBytes(5).toString("hex")}`;

/** Generous page bounds for reads that should return everything. */
export const ALL = { limitItems: 10_000, limitBytes: 64 * 1024 * 1024 } as const;

/** An item with UTF-8 key and value. */
export function item(key: string, value: string): KvItem {
  return { key: b(key), value: b(value) };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Items as `[key, value]` hex pairs: readable in assertion diffs, compared by bytes. */
export function hexItems(items: KvItem[]): [string, string][] {
  return items.map((item) => [
    Buffer.from(item.key).toString("hex"),
    Buffer.from(item.value).toString("hex"),
  ]);
}

/** Reads every page of a record with the given page bounds, checking `more` on each. */
export async function readAllPages(
  kv: KeyValueBackend,
  namespace: string,
  id: string,
  limits: { limitItems: number; limitBytes: number },
): Promise<{ pages: KvItem[][] }> {
  const pages: KvItem[][] = [];
  let after: Uint8Array | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await kv.get(namespace, id, { kind: "all" }, { ...limits, ...(after ? { after } : {}) });
    pages.push(page.items);
    if (!page.more) return { pages };
    after = page.items.at(-1)?.key;
    if (!after) throw new Error("a page with more=true returned no items");
  }
  throw new Error("paging did not end");
}
