import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { PrismError } from "@prism/core";
import type { ConfigStore, StoredState } from "../config/config-store.js";
import type { ShadowConfigSettings } from "../config/gateway-config.js";
import type { Logger } from "../log.js";
import type { NamespaceRegistry } from "../registry/namespace-registry.js";
import type { ResolvedNamespace } from "../registry/resolved-namespace.js";
import { advance, splitCount } from "./backfill-progress.js";
import { copyPage, phasesOf } from "./copy.js";
import { Throttle } from "./throttle.js";

export const BACKFILL_KIND = "backfill";

export type BackfillStateName = "running" | "succeeded" | "failed" | "cancelled";

/** A backfill job as the config store keeps it (JSON): its checkpoint is `phase` + `cursor`. */
export interface BackfillRecord {
  id: string;
  namespace: string;
  pattern: string;
  primary: string;
  shadow: string;
  state: BackfillStateName;
  /** `counting` first (sizes the work for progress), then the pattern's copy phases. */
  phase: string;
  cursor?: string;
  recordsCopied: number;
  bytesCopied: number;
  recordsSkipped: number;
  recordsTotal: number;
  bytesTotal: number;
  maxRecordsPerSecond: number;
  maxBytesPerSecond: number;
  recordsPerSecond: number;
  bytesPerSecond: number;
  owner: string;
  /** Epoch ms after which another gateway may take the job over. */
  leaseUntil: number;
  startedAt: number;
  updatedAt: number;
  /** Why it failed; while it runs, the last transient error a page was retried after. */
  error?: string;
  /** The failed or cancelled job whose checkpoint this one continued from. */
  resumedFrom?: string;
  /** Pages tried again after a transient backend error. */
  pageRetries?: number;
}

/**
 * One slot per namespace that every start claims by compare-and-set, so of StartBackfill calls
 * racing (two operators, two gateways) exactly one creates a job; the others are refused as if it
 * were running. It names the job its start created, which is stored right after the claim.
 */
const START_KIND = "backfill-start";
interface StartSlot {
  job: string;
  /** Epoch ms of the claim. */
  at: number;
}
/** A claimed start whose job is not stored yet counts as running this long (its gateway may have died in between). */
const STARTING_MS = 30_000;

/** Errors a page is tried again after (with backoff) instead of failing the job. */
const TRANSIENT: ReadonlySet<string> = new Set(["Unavailable", "DeadlineExceeded", "ResourceExhausted"]);
/** Backoff between tries of a failing page: doubling from the first to the last, jittered. */
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 5_000;

/** Finished jobs stay in the shared state this long (GetBackfill, promotion checks), then go. */
const FINISHED_KEPT_MS = 30 * 24 * 3_600_000;

/** Records a page reads: about a fifth of a second of the throttle, 1..500. */
const pageLimit = (job: BackfillRecord) =>
  Math.max(1, Math.min(500, Math.floor(job.maxRecordsPerSecond / 5)));

/**
 * Runs backfill jobs (DESIGN §7): copies a namespace from its primary to its shadow through the
 * backends' scans, throttled in records and bytes per second, checkpointing phase and cursor in
 * the config store after every page. A job belongs to the gateway holding its lease; a gateway
 * that dies stops renewing it and any gateway sharing the store resumes from the checkpoint (a
 * page copied twice is harmless: copies are idempotent). A page that fails with a transient error
 * (a backend unavailable, a deadline, overload) is tried again with backoff for up to
 * `backfillGiveUpMs` since the last page that worked; then, or on any other error, the job fails.
 * Cancel marks the stored job; its runner stops at the next page. A new job for the namespace
 * continues from a failed or cancelled job's checkpoint (same backends) unless asked to start over;
 * it keeps that job's start time, so promotion still sees every problem since the copy began.
 *
 * @example const job = await backfills.start("user-profiles", { recordsPerSecond: 1000 })
 */
export class BackfillRunner {
  private readonly running = new Map<string, AbortController>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly registry: NamespaceRegistry,
    private readonly store: ConfigStore,
    private readonly settings: ShadowConfigSettings,
    private readonly gatewayId: string,
    private readonly logger: Logger,
  ) {}

  /** Starts looking for jobs to resume (lease expired) every half lease. */
  start(): void {
    this.timer = setInterval(
      () => void this.adoptOrphans(),
      Math.max(250, this.settings.backfillLeaseMs / 2),
    );
    this.timer.unref();
  }

  /** Stops local jobs where they are (their checkpoint stays; another gateway resumes them). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const controller of this.running.values()) controller.abort();
  }

  /** Creates and starts a job for `namespace`; refused while one runs or without a shadow. */
  async begin(
    name: string,
    limits: { recordsPerSecond?: number; bytesPerSecond?: number; fromScratch?: boolean },
  ): Promise<BackfillRecord> {
    const namespace = await this.shadowed(name);
    // Read before the jobs: a start that claims the slot after this read makes ours conflict below.
    const slot = await this.store.getState(START_KIND, name);
    const jobs = await this.jobsOf(name);
    const now = Date.now();
    const running = jobs.find((job) => job.state === "running");
    const starting = slot?.value as StartSlot | undefined;
    if (running) throw stillRunning(name, running.id);
    if (starting && now - starting.at < STARTING_MS && !jobs.some((job) => job.id === starting.job)) {
      throw stillRunning(name, starting.job);
    }
    const last = jobs.at(-1);
    const resumable =
      !limits.fromScratch &&
      last !== undefined &&
      (last.state === "failed" || last.state === "cancelled") &&
      last.pattern === namespace.spec.pattern &&
      last.primary === namespace.spec.backend &&
      last.shadow === namespace.spec.shadow!.backend
        ? last
        : undefined;
    const job: BackfillRecord = {
      id: `${name}.${now.toString(36)}${randomBytes(3).toString("hex")}`,
      namespace: name,
      pattern: namespace.spec.pattern,
      primary: namespace.spec.backend,
      shadow: namespace.spec.shadow!.backend,
      state: "running",
      phase: "counting",
      recordsCopied: 0,
      bytesCopied: 0,
      recordsSkipped: 0,
      recordsTotal: 0,
      bytesTotal: 0,
      maxRecordsPerSecond: limits.recordsPerSecond || this.settings.backfillRecordsPerSecond,
      maxBytesPerSecond: limits.bytesPerSecond || this.settings.backfillBytesPerSecond,
      recordsPerSecond: 0,
      bytesPerSecond: 0,
      owner: this.gatewayId,
      leaseUntil: now + this.settings.backfillLeaseMs,
      startedAt: now,
      updatedAt: now,
      ...(resumable && {
        phase: resumable.phase,
        ...(resumable.cursor !== undefined && { cursor: resumable.cursor }),
        recordsCopied: resumable.recordsCopied,
        bytesCopied: resumable.bytesCopied,
        recordsSkipped: resumable.recordsSkipped,
        recordsTotal: resumable.recordsTotal,
        bytesTotal: resumable.bytesTotal,
        // What was copied before counts from when that copy began (promotion checks compare
        // mirrored-write problems with the start of the backfill).
        startedAt: resumable.startedAt,
        resumedFrom: resumable.id,
      }),
    };
    if (resumable) {
      this.logger.info(
        { backfill: job.id, from: resumable.id, phase: job.phase },
        "backfill resumes a checkpoint",
      );
    }
    try {
      await this.store.putState(
        START_KIND,
        name,
        { job: job.id, at: now } satisfies StartSlot,
        slot?.version ?? 0,
      );
    } catch (error) {
      if (!isConflict(error)) throw error;
      const winner = (await this.store.getState(START_KIND, name))?.value as StartSlot | undefined;
      throw stillRunning(name, winner?.job ?? "(another)");
    }
    const stored = await this.store.putState(BACKFILL_KIND, job.id, job, 0);
    this.run(stored);
    return job;
  }

  /** One job, or NotFound. */
  async get(id: string): Promise<BackfillRecord> {
    const stored = await this.store.getState(BACKFILL_KIND, id);
    if (!stored) throw notFound(id);
    return stored.value as BackfillRecord;
  }

  /** Every job of `namespace`, oldest first (a resumed job shares its start with the one it resumed). */
  async jobsOf(namespace: string): Promise<BackfillRecord[]> {
    const all = await this.store.listState(BACKFILL_KIND, `${namespace}.`);
    return all
      .map((stored) => stored.value as BackfillRecord)
      .sort((a, b) => a.startedAt - b.startedAt || a.updatedAt - b.updatedAt);
  }

  /** Marks a running job cancelled (its runner stops at its next page); a finished one is returned as is. */
  async cancel(id: string): Promise<BackfillRecord> {
    for (;;) {
      const stored = await this.store.getState(BACKFILL_KIND, id);
      if (!stored) throw notFound(id);
      const job = stored.value as BackfillRecord;
      if (job.state !== "running") return job;
      const cancelled = { ...job, state: "cancelled" as const, updatedAt: Date.now() };
      try {
        await this.store.putState(BACKFILL_KIND, id, cancelled, stored.version);
        this.running.get(id)?.abort();
        return cancelled;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  private async shadowed(name: string): Promise<ResolvedNamespace> {
    await this.registry.refresh();
    const namespace = this.registry.get(name);
    if (!namespace) {
      throw new PrismError("NotFound", `namespace ${name} does not exist`, { reason: "NAMESPACE_NOT_FOUND" });
    }
    if (!namespace.spec.shadow) {
      throw new PrismError("FailedPrecondition", `namespace ${name} has no shadow`, {
        reason: "SHADOW_NOT_CONFIGURED",
        metadata: { namespace: name },
      });
    }
    return namespace;
  }

  /** Takes over running jobs whose gateway stopped renewing the lease. */
  private async adoptOrphans(): Promise<void> {
    if (this.stopped) return;
    let all: StoredState[];
    try {
      all = await this.store.listState(BACKFILL_KIND);
    } catch {
      return;
    }
    const now = Date.now();
    for (const stored of all) {
      const job = stored.value as BackfillRecord;
      if (job.state !== "running" && now - job.updatedAt > FINISHED_KEPT_MS) {
        // Any gateway may forget it; a promotion needs a backfill newer than this anyway.
        await this.store.deleteState(BACKFILL_KIND, job.id).catch(() => false);
        continue;
      }
      if (job.state !== "running" || this.running.has(job.id) || job.leaseUntil > now) continue;
      const claimed = { ...job, owner: this.gatewayId, leaseUntil: now + this.settings.backfillLeaseMs };
      try {
        const mine = await this.store.putState(BACKFILL_KIND, job.id, claimed, stored.version);
        this.logger.info({ backfill: job.id, from: job.owner, phase: job.phase }, "resuming backfill");
        this.run(mine);
      } catch {
        // Another gateway claimed it first.
      }
    }
  }

  private run(stored: StoredState): void {
    const controller = new AbortController();
    const id = (stored.value as BackfillRecord).id;
    this.running.set(id, controller);
    void this.copyAll(stored, controller.signal)
      .catch((error) =>
        this.logger.error({ backfill: id, err: (error as Error).message }, "backfill stopped"),
      )
      .finally(() => this.running.delete(id));
  }

  private async copyAll(stored: StoredState, signal: AbortSignal): Promise<void> {
    let version = stored.version;
    let job = stored.value as BackfillRecord;
    const throttle = new Throttle(job.maxRecordsPerSecond, job.maxBytesPerSecond);
    const rate = { at: Date.now(), records: job.recordsCopied, bytes: job.bytesCopied };
    const phases = ["counting", ...phasesOf(job.pattern)];
    let countPhase = 0;
    /** Consecutive failed tries of the current page, and when the last page worked. */
    let failures = 0;
    let workedAt = Date.now();
    while (!signal.aborted) {
      const namespace = this.registry.get(job.namespace);
      if (namespace?.spec.backend !== job.primary || namespace.spec.shadow?.backend !== job.shadow) {
        job = {
          ...job,
          state: "failed",
          error: "the namespace's primary or shadow changed during the backfill",
        };
      } else {
        const counting = job.phase === "counting";
        // Counting walks each copy phase's scan in turn; its cursor is `<phase index>:<cursor>`.
        const [index, cursor] = counting ? splitCount(job.cursor) : [0, job.cursor];
        countPhase = index;
        try {
          const page = await copyPage(
            job.pattern,
            counting ? phasesOf(job.pattern)[countPhase]! : job.phase,
            {
              namespace: job.namespace,
              primary: namespace.binding.primary,
              shadow: namespace.binding.shadow!,
              settings: namespace.timeseries,
              signal,
              limit: counting ? 1000 : pageLimit(job),
              write: !counting,
            },
            cursor,
          );
          if (!counting) await throttle.take(page.records, page.bytes, signal);
          job = advance(job, page, counting, countPhase, phases, rate);
          if (failures > 0 && job.state === "running") job = { ...job, error: undefined };
          failures = 0;
          workedAt = Date.now();
        } catch (error) {
          if (signal.aborted) return;
          const message = (error as PrismError).message?.slice(0, 500) ?? "failed";
          const transient = error instanceof PrismError && TRANSIENT.has(error.kind);
          if (!transient || Date.now() - workedAt >= this.settings.backfillGiveUpMs) {
            job = { ...job, state: "failed", error: message };
          } else {
            failures++;
            job = { ...job, error: message, pageRetries: (job.pageRetries ?? 0) + 1 };
            this.logger.warn(
              { backfill: job.id, phase: job.phase, kind: error.kind, tries: failures },
              "backfill page failed; trying again",
            );
            const backoff = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (failures - 1));
            try {
              await sleep(backoff / 2 + Math.random() * (backoff / 2), undefined, { signal });
            } catch {
              return;
            }
          }
        }
      }
      job = { ...job, updatedAt: Date.now(), leaseUntil: Date.now() + this.settings.backfillLeaseMs };
      try {
        version = (await this.store.putState(BACKFILL_KIND, job.id, job, version)).version;
      } catch (error) {
        // Cancelled, or taken over by another gateway after this one stalled past its lease.
        if (isConflict(error)) return;
        throw error;
      }
      if (job.state !== "running") {
        this.logger.info(
          { backfill: job.id, state: job.state, records: job.recordsCopied, skipped: job.recordsSkipped },
          "backfill finished",
        );
        return;
      }
    }
  }
}

function notFound(id: string): PrismError {
  return new PrismError("NotFound", `no backfill ${JSON.stringify(id.slice(0, 300))}`, {
    reason: "BACKFILL_NOT_FOUND",
    metadata: { backfill: id.slice(0, 300) },
  });
}

function stillRunning(namespace: string, backfill: string): PrismError {
  return new PrismError("FailedPrecondition", `backfill ${backfill} of ${namespace} is still running`, {
    reason: "BACKFILL_RUNNING",
    metadata: { namespace, backfill },
  });
}

/** A compare-and-set in the shared state lost to another writer. */
function isConflict(error: unknown): boolean {
  return error instanceof PrismError && error.kind === "Conflict";
}
