/**
 * What a writer knows about a series' stored identities, so a write checks for duplicates by
 * reading only what was appended since the last write instead of the whole accept window again.
 * An entry says: every event of the series with a time at or after `coveredFromUs`, stored below
 * `throughOffset`, is in `keys`. It is built by a full window scan and kept current by scanning
 * from `throughOffset` (which also sees other processes' writes). Memory is bounded: a series
 * past its share forgets its older half (raising `coveredFromUs`), and the least recently written
 * series are forgotten when the total is reached; a forgotten range is checked by a scan again.
 */
export interface SeriesKeys {
  coveredFromUs: bigint;
  throughOffset: bigint;
  /** eventKey → event time. */
  keys: Map<string, bigint>;
}

export class StoredKeyCache {
  private readonly entries = new Map<string, SeriesKeys>();
  private total = 0;

  constructor(
    private readonly maxKeys = 1_000_000,
    private readonly maxKeysPerSeries = 100_000,
  ) {}

  /** The entry of `series` (marked as recently used), if any. */
  get(series: string): SeriesKeys | undefined {
    const entry = this.entries.get(series);
    if (entry) {
      this.entries.delete(series);
      this.entries.set(series, entry);
    }
    return entry;
  }

  set(series: string, entry: SeriesKeys): void {
    this.delete(series);
    this.entries.set(series, entry);
    this.total += entry.keys.size;
    this.shrink(entry);
    this.evict(series);
  }

  /** Records a stored identity of a cached series (ignored below its coverage). */
  add(entry: SeriesKeys, key: string, eventTimeUs: bigint): void {
    if (eventTimeUs < entry.coveredFromUs || entry.keys.has(key)) return;
    entry.keys.set(key, eventTimeUs);
    this.total++;
    this.shrink(entry);
  }

  delete(series: string): void {
    const entry = this.entries.get(series);
    if (!entry) return;
    this.total -= entry.keys.size;
    this.entries.delete(series);
  }

  /** Forgets the older half of a series that outgrew its share. */
  private shrink(entry: SeriesKeys): void {
    if (entry.keys.size <= this.maxKeysPerSeries) return;
    const times = [...entry.keys.values()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const cutoff = times[times.length >>> 1]!;
    for (const [key, time] of entry.keys) {
      if (time < cutoff) {
        entry.keys.delete(key);
        this.total--;
      }
    }
    entry.coveredFromUs = cutoff;
  }

  /** Forgets the least recently written series, except `keep`, while over the total. */
  private evict(keep: string): void {
    for (const series of this.entries.keys()) {
      if (this.total <= this.maxKeys) return;
      if (series !== keep) this.delete(series);
    }
  }
}
