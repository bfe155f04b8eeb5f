import { compareBytes, type KvItem } from "@prism/core";

/** A record's items kept sorted by key, with binary search for point and range access. */
export class SortedItems {
  readonly items: KvItem[] = [];

  /** Index of the first item whose key is >= `key` (or > `key` when `exclusive`). */
  lowerBound(key: Uint8Array, exclusive = false): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(this.items[mid]!.key, key);
      if (c < 0 || (exclusive && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  find(key: Uint8Array): KvItem | undefined {
    const i = this.lowerBound(key);
    const found = this.items[i];
    return found && compareBytes(found.key, key) === 0 ? found : undefined;
  }

  upsert(item: KvItem): void {
    const i = this.lowerBound(item.key);
    const existing = this.items[i];
    if (existing && compareBytes(existing.key, item.key) === 0) this.items[i] = item;
    else this.items.splice(i, 0, item);
  }

  deleteKey(key: Uint8Array): void {
    const i = this.lowerBound(key);
    const existing = this.items[i];
    if (existing && compareBytes(existing.key, key) === 0) this.items.splice(i, 1);
  }

  /** Deletes `start <= key < end`. */
  deleteRange(start: Uint8Array, end: Uint8Array | undefined): void {
    const from = this.lowerBound(start);
    const to = end === undefined ? this.items.length : this.lowerBound(end);
    if (to > from) this.items.splice(from, to - from);
  }

  /** Drops items expired at `now`. */
  purgeExpired(now: number): void {
    for (let i = this.items.length - 1; i >= 0; i--) {
      const expiresAt = this.items[i]!.expiresAt;
      if (expiresAt !== undefined && expiresAt <= now) this.items.splice(i, 1);
    }
  }
}
