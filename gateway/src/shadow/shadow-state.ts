import type { Logger } from "../log.js";
import { ShadowQueue, type ShadowQueueOptions, type ShadowWriteCounters } from "./shadow-queue.js";

/** How a namespace uses its shadow (DESIGN §7). Every mode mirrors writes. */
export type ShadowModeName = "dual-write" | "shadow-read" | "read-shadow";

/** A read whose shadow answer differed: which record, and how, without any value. */
export interface ShadowMismatch {
  id: string;
  summary: string;
  /** Epoch ms. */
  at: number;
}

/** Everything one gateway counted for one namespace's shadow since it began serving it. */
export interface ShadowCounters extends ShadowWriteCounters {
  readsMatched: number;
  readsMismatched: number;
  /** Epoch ms of the last mismatch; 0 = none. */
  lastMismatchAt: number;
  /** Sampled reads not compared because too many comparisons were already running. */
  readsSkipped: number;
  /** Sampled reads answered from the shadow (`read-shadow`). */
  readsServedByShadow: number;
  /** Of those, reads the shadow failed and the primary answered instead. */
  readsFellBack: number;
}

export interface ShadowSettings extends ShadowQueueOptions {
  /** Most read comparisons running at once per namespace. */
  maxComparisons: number;
}

export const DEFAULT_SHADOW_SETTINGS: ShadowSettings = {
  maxTasks: 10_000,
  maxBytes: 64 << 20,
  concurrency: 32,
  timeoutMs: 5000,
  maxComparisons: 32,
};

const RECENT_MISMATCHES = 20;

/** Counters at zero: a new namespace state, or the start of a sum over gateways. */
export function zeroCounters(): ShadowCounters {
  return {
    writesOk: 0,
    writesFailed: 0,
    writesDropped: 0,
    lastProblemAt: 0,
    readsMatched: 0,
    readsMismatched: 0,
    lastMismatchAt: 0,
    readsSkipped: 0,
    readsServedByShadow: 0,
    readsFellBack: 0,
  };
}

/**
 * One namespace's shadow traffic on this gateway: its dual-write queue, its sampling and read
 * comparisons, and its counters. Kept across registry reloads while the namespace keeps the same
 * primary and shadow (a mode or sample-rate change keeps the queue and counters).
 */
export class ShadowState {
  readonly counters: ShadowCounters = zeroCounters();
  readonly queue: ShadowQueue;
  readonly recent: ShadowMismatch[] = [];
  private comparing = 0;

  constructor(
    readonly namespace: string,
    readonly primary: string,
    readonly shadow: string,
    public mode: ShadowModeName,
    public sampleRate: number,
    private readonly settings: ShadowSettings,
    logger: Logger,
  ) {
    let lastLog = 0;
    this.queue = new ShadowQueue(settings, this.counters, (error) => {
      // At most one line a second: a dead shadow fails every write.
      if (Date.now() - lastLog < 1000) return;
      lastLog = Date.now();
      logger.warn(
        { namespace, shadow, err: (error as Error).message, failed: this.counters.writesFailed },
        "shadow write failed; the primary answered",
      );
    });
  }

  /** True for a read this gateway should also send to the shadow (every mode but dual-write). */
  sampled(): boolean {
    return this.mode !== "dual-write" && this.sampleRate > 0 && Math.random() < this.sampleRate;
  }

  /**
   * Runs `compare` (primary answer vs shadow answer) in the background, bounded: past
   * `maxComparisons` running, the read is counted as skipped instead.
   */
  compareLater(compare: (signal: AbortSignal) => Promise<{ id: string; summary: string } | undefined>): void {
    if (this.comparing >= this.settings.maxComparisons) {
      this.counters.readsSkipped++;
      return;
    }
    this.comparing++;
    compare(AbortSignal.timeout(this.settings.timeoutMs))
      .then(
        (mismatch) => this.record(mismatch),
        // A shadow that cannot answer is not a mismatch; its writes' failures show it.
        () => this.counters.readsSkipped++,
      )
      .finally(() => this.comparing--);
  }

  /** Counts one comparison's outcome; a mismatch joins the recent samples. */
  record(mismatch: { id: string; summary: string } | undefined): void {
    if (!mismatch) {
      this.counters.readsMatched++;
      return;
    }
    this.counters.readsMismatched++;
    this.counters.lastMismatchAt = Date.now();
    this.recent.push({ ...mismatch, at: Date.now() });
    if (this.recent.length > RECENT_MISMATCHES) this.recent.shift();
  }
}
