import { bytesEqual } from "../bytes.js";
import { abortError, throwIfAborted } from "../errors.js";
import type { KeyPredicate, KeyValueBackend, KvItem, KvMutation, ScanPosition } from "../keyvalue.js";
import {
  chunkRange,
  decodeManifest,
  isHiddenId,
  MARKERS_END,
  MARKERS_START,
  parseMarkerKey,
  primaryId,
  sortedUnique,
  versionTime,
} from "./chunk-format.js";

/** Options of a {@link ChunkSweeper}. */
export interface ChunkSweeperOptions {
  /**
   * Chunk sets younger than this (by their version's creation time) are never removed: it must
   * exceed `chunked()`'s `maxStageMs` plus the longest call, and cover clock skew between
   * gateway instances. Default 10 minutes.
   */
  graceMs?: number;
  /** Pause between companion records, to keep the sweeper in the background. Default 20 ms. */
  pauseMs?: number;
  /** Time between passes of {@link ChunkSweeper.start}. Default 5 minutes. */
  intervalMs?: number;
  /** Told about a failed pass over one namespace; the next pass retries. */
  onError?: (error: unknown, namespace: string) => void;
}

/** What one {@link ChunkSweeper.sweep} did. */
export interface SweepCounts {
  /** Companion records looked at. */
  companions: number;
  /** Chunk sets removed: no current manifest references them and they are past the grace. */
  removedSets: number;
  /** Chunk sets kept: referenced, or too young to tell. */
  keptSets: number;
  /** Companions of the earlier (version 1) format whose record was gone, removed. */
  removedLegacy: number;
}

/** Keys of the earlier format's chunks: `len(key) u32 | …`, so they start with 0x00. */
const LEGACY_RANGE: KeyPredicate = { kind: "range", start: Uint8Array.of(0), end: Uint8Array.of(1) };
/** Chunk sets removed per backend call. */
const SETS_PER_CALL = 100;
const LIST_PAGE = { limitItems: 1000, limitBytes: 1 << 20 } as const;

/**
 * Removes the chunk sets `chunked()` leaves behind (overwritten or deleted values, replays,
 * failed writes): a set goes when the current manifest of its key does not reference it and it
 * is older than the grace period. It works on the raw backend (not the layer), reads only stage
 * markers (never chunk bytes), and never removes a young set, so it can run beside writers.
 *
 * @example
 * const sweeper = new ChunkSweeper(postgres.keyvalue, { graceMs: 10 * 60_000 });
 * sweeper.start(() => registry.namespacesOn("pg-main"));
 * const counts = await sweeper.sweep("docs", { now: Date.now() + 3_600_000 }); // in tests
 */
export class ChunkSweeper {
  readonly graceMs: number;
  private readonly pauseMs: number;
  private readonly intervalMs: number;
  private readonly onError: (error: unknown, namespace: string) => void;
  private running: { stop: AbortController; done: Promise<void> } | undefined;

  constructor(
    private readonly backend: KeyValueBackend,
    options: ChunkSweeperOptions = {},
  ) {
    this.graceMs = options.graceMs ?? 10 * 60_000;
    this.pauseMs = options.pauseMs ?? 20;
    this.intervalMs = options.intervalMs ?? 5 * 60_000;
    this.onError = options.onError ?? (() => undefined);
  }

  /**
   * One pass over a namespace's companion records. `now` (epoch ms) stands for the current time
   * when judging age, so tests can look into the future.
   *
   * @example const { removedSets } = await sweeper.sweep("docs", { signal: AbortSignal.timeout(60_000) })
   */
  async sweep(namespace: string, options: { signal?: AbortSignal; now?: number } = {}): Promise<SweepCounts> {
    const { signal } = options;
    const now = options.now ?? Date.now();
    const counts: SweepCounts = { companions: 0, removedSets: 0, keptSets: 0, removedLegacy: 0 };
    let after: ScanPosition | undefined;
    for (;;) {
      throwIfAborted(signal);
      // Hidden records sort first; one small row per record tells us the next one's id.
      const { rows } = await this.backend.scan(namespace, {
        limitItems: 1,
        limitBytes: 1,
        ...(signal ? { signal } : {}),
        ...(after ? { after } : {}),
      });
      const row = rows[0];
      if (!row || !isHiddenId(row.id)) return counts;
      const primary = primaryId(row.id);
      if (primary !== undefined) {
        counts.companions++;
        await this.sweepCompanion(namespace, row.id, primary, now, counts, signal);
      }
      // No id lies between `id` and `id + U+0001` (ids hold no control characters after the prefix).
      after = { id: `${row.id}\u0001`, key: new Uint8Array() };
      await pause(this.pauseMs, signal);
    }
  }

  /**
   * Every `intervalMs`, sweeps each namespace `namespaces()` lists, until {@link stop}.
   *
   * @example sweeper.start(() => ["docs", "demo-kv"])
   */
  start(namespaces: () => Iterable<string>): void {
    if (this.running) return;
    const stop = new AbortController();
    const loop = async () => {
      // The first pass waits one interval too, so a restarting fleet does not sweep all at once.
      await pause(this.intervalMs, stop.signal).catch(() => undefined);
      while (!stop.signal.aborted) {
        let list: string[] = [];
        try {
          list = [...namespaces()];
        } catch (error) {
          this.onError(error, "");
        }
        for (const namespace of list) {
          if (stop.signal.aborted) return;
          await this.sweep(namespace, { signal: stop.signal }).catch((error: unknown) => {
            if (!stop.signal.aborted) this.onError(error, namespace);
          });
        }
        await pause(this.intervalMs, stop.signal).catch(() => undefined);
      }
    };
    this.running = { stop, done: loop() };
  }

  /** Stops the background passes started by {@link start}; resolves when the current one ended. */
  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    running?.stop.abort();
    await running?.done;
  }

  private async sweepCompanion(
    namespace: string,
    companion: string,
    primary: string,
    now: number,
    counts: SweepCounts,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const sets = (
      await this.readAll(
        namespace,
        companion,
        { kind: "range", start: MARKERS_START, end: MARKERS_END },
        signal,
      )
    )
      .map((marker) => ({ marker: marker.key, ...parseMarkerKey(marker.key) }))
      .filter((set) => set.key !== undefined && set.version !== undefined) as {
      marker: Uint8Array;
      key: Uint8Array;
      version: Uint8Array;
    }[];
    const aged = sets.filter((set) => now - versionTime(set.version) >= this.graceMs);
    counts.keptSets += sets.length - aged.length;
    const current = new Map<string, Uint8Array | undefined>();
    if (aged.length > 0) {
      const keys = sortedUnique(aged.map((set) => set.key));
      for (const item of await this.readAll(namespace, primary, { kind: "keys", keys }, signal)) {
        current.set(hex(item.key), referencedVersion(item));
      }
    }
    const doomed = aged.filter((set) => {
      const referenced = current.get(hex(set.key));
      return !(referenced && bytesEqual(referenced, set.version));
    });
    counts.keptSets += aged.length - doomed.length;
    for (let i = 0; i < doomed.length; i += SETS_PER_CALL) {
      const group = doomed.slice(i, i + SETS_PER_CALL);
      // Chunks before markers: a pass cut short leaves markers to find the rest next time.
      const mutations: KvMutation[] = group.map((set) => ({
        op: "delete",
        predicate: { kind: "range", ...chunkRange(set.key, set.version) },
      }));
      mutations.push({
        op: "delete",
        predicate: { kind: "keys", keys: sortedUnique(group.map((s) => s.marker)) },
      });
      await this.backend.mutate(namespace, companion, mutations, signal ? { signal } : {});
      counts.removedSets += group.length;
    }
    if (await this.legacyOrphan(namespace, companion, primary, signal)) {
      await this.backend.delete(namespace, companion, LEGACY_RANGE, signal ? { signal } : {});
      counts.removedLegacy++;
    }
  }

  /** True when the companion holds earlier-format chunks and its record is gone. */
  private async legacyOrphan(
    namespace: string,
    companion: string,
    primary: string,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const one = { limitItems: 1, limitBytes: 1, ...(signal ? { signal } : {}) };
    const legacy = await this.backend.get(namespace, companion, LEGACY_RANGE, one);
    if (legacy.items.length === 0) return false;
    const record = await this.backend.get(namespace, primary, { kind: "all" }, one);
    return record.items.length === 0;
  }

  private async readAll(
    namespace: string,
    id: string,
    predicate: KeyPredicate,
    signal: AbortSignal | undefined,
  ): Promise<KvItem[]> {
    const items: KvItem[] = [];
    let after: Uint8Array | undefined;
    for (;;) {
      const page = await this.backend.get(namespace, id, predicate, {
        ...LIST_PAGE,
        ...(signal ? { signal } : {}),
        ...(after ? { after } : {}),
      });
      items.push(...page.items);
      if (!page.more || page.items.length === 0) return items;
      after = page.items.at(-1)!.key;
    }
  }
}

/** The chunk-set version a current item references, if it is a version 2 manifest. */
function referencedVersion(item: KvItem): Uint8Array | undefined {
  if (!item.chunked) return undefined;
  try {
    const manifest = decodeManifest(item.value);
    return manifest.format === 2 ? manifest.version : undefined;
  } catch {
    return undefined;
  }
}

const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) return signal?.aborted ? Promise.reject(abortError(signal)) : Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    timer.unref?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
  });
}
