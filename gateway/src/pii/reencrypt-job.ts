import { randomBytes } from "node:crypto";
import { bytesEqual, type KeyValueBackend, PrismError, type ScanPosition } from "@prism/core";

/**
 * Rewrites one stored value under the current data key: the new bytes, or undefined when every
 * sealed field already uses it. The value policy provides it (it knows the envelope).
 */
export type Reseal = (value: Uint8Array) => Promise<Uint8Array | undefined>;

export type JobState = "running" | "succeeded" | "failed" | "cancelled";

/** A job's progress, as `GetReEncrypt` shows it. */
export interface ReEncryptStatus {
  readonly id: string;
  readonly namespace: string;
  readonly keyId: string;
  readonly state: JobState;
  /** Values looked at. */
  readonly done: number;
  /** Values rewritten because a sealed field used an older key. */
  readonly rewritten: number;
  /** Values a writer changed between the job's read and its write: left as the writer wrote them. */
  readonly skipped: number;
  readonly perSecond: number;
  /** Why it failed (a PrismError message: no values, no keys). */
  readonly error: string;
  readonly startedAt: number;
  readonly updatedAt: number;
}

/** What a job needs. */
export interface ReEncryptRequest {
  namespace: string;
  /** The namespace's KeyValue stack (its binding's `keyvalue`: chunked values come whole). */
  kv: KeyValueBackend;
  /** The key values are moved to (reported; `reseal` decides). */
  keyId: string;
  reseal: Reseal;
  /** Epoch ms before which the walk does not start: every gateway seals with `keyId` by then. */
  notBefore?: number;
}

export interface ReEncryptOptions {
  /** Items per scan page. Default 100. */
  pageItems?: number;
  /** Jobs remembered (finished ones are forgotten oldest first). Default 100. */
  keep?: number;
}

const PAGE_BYTES = 4 << 20;

/**
 * Background re-encryption of KeyValue namespaces, one job per namespace at a time. A job scans
 * the namespace through its binding and, for each value `reseal` rewrites, re-reads the item and
 * writes the new bytes only if the item is still the one it read. KeyValue backends have no
 * conditional put, so a writer landing between that re-read and the put is overwritten by the
 * resealed older value — a window of one backend round trip per rewritten value (ADR-0017).
 *
 * Jobs live in this gateway's memory: a restart forgets them (re-running is safe: values already
 * under the current key are not rewritten).
 *
 * @example
 * const job = jobs.start({ namespace: "users", kv: binding.keyvalue, keyId, reseal });
 * while (jobs.get(job.id)!.state === "running") await sleep(500);
 */
export class ReEncryptJobs {
  private readonly jobs = new Map<string, Job>();
  private readonly pageItems: number;
  private readonly keep: number;

  constructor(options: ReEncryptOptions = {}) {
    this.pageItems = options.pageItems ?? 100;
    this.keep = options.keep ?? 100;
  }

  /** Starts a job, or returns the namespace's running one. */
  start(request: ReEncryptRequest): ReEncryptStatus {
    for (const job of this.jobs.values()) {
      if (job.status.namespace === request.namespace && job.status.state === "running") return job.snapshot();
    }
    const now = Date.now();
    const job = new Job(
      {
        id: `reenc-${randomBytes(8).toString("hex")}`,
        namespace: request.namespace,
        keyId: request.keyId,
        state: "running",
        done: 0,
        rewritten: 0,
        skipped: 0,
        perSecond: 0,
        error: "",
        startedAt: now,
        updatedAt: now,
      },
      new AbortController(),
    );
    this.jobs.set(job.status.id, job);
    this.forgetOld();
    job.done = this.run(job, request);
    return job.snapshot();
  }

  get(id: string): ReEncryptStatus | undefined {
    return this.jobs.get(id)?.snapshot();
  }

  /** Stops a running job after the value in hand; resolves when it has stopped. */
  async cancel(id: string): Promise<ReEncryptStatus | undefined> {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    job.controller.abort();
    await job.done;
    return job.snapshot();
  }

  /** Cancels every running job (gateway shutdown). */
  async stop(): Promise<void> {
    await Promise.all([...this.jobs.keys()].map((id) => this.cancel(id)));
  }

  private async run(job: Job, request: ReEncryptRequest): Promise<void> {
    const { signal } = job.controller;
    const { namespace, kv, reseal } = request;
    try {
      await delay(Math.max(0, (request.notBefore ?? 0) - Date.now()), signal);
      let after: ScanPosition | undefined;
      for (;;) {
        if (signal.aborted) break;
        const page = await kv.scan(namespace, {
          limitItems: this.pageItems,
          limitBytes: PAGE_BYTES,
          after,
          signal,
        });
        for (const { id, item } of page.rows) {
          if (signal.aborted) break;
          after = { id, key: item.key };
          const resealed = await reseal(item.value);
          if (resealed) {
            // Re-read just before writing: a writer that got here first keeps its value. No
            // signal here: a cancel lets the value in hand finish.
            const now = await kv.get(
              namespace,
              id,
              { kind: "keys", keys: [item.key] },
              { limitItems: 1, limitBytes: PAGE_BYTES },
            );
            const current = now.items[0];
            if (current && bytesEqual(current.value, item.value)) {
              const expiresAt = current.expiresAt;
              await kv.put(
                namespace,
                id,
                [{ key: item.key, value: resealed, ...(expiresAt !== undefined && { expiresAt }) }],
                {},
              );
              job.status.rewritten++;
            } else {
              job.status.skipped++;
            }
          }
          job.status.done++;
          job.touch();
        }
        if (!page.more) break;
      }
      job.status.state = signal.aborted ? "cancelled" : "succeeded";
    } catch (error) {
      if (signal.aborted) {
        job.status.state = "cancelled";
      } else {
        job.status.state = "failed";
        // PrismError messages carry no values; anything else is described by its kind only.
        job.status.error =
          error instanceof PrismError ? error.message : "internal error (see the gateway log)";
      }
    }
    job.touch();
  }

  private forgetOld(): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= this.keep) return;
      if (job.status.state !== "running") this.jobs.delete(id);
    }
  }
}

class Job {
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly status: { -readonly [K in keyof ReEncryptStatus]: ReEncryptStatus[K] },
    readonly controller: AbortController,
  ) {}

  touch(): void {
    this.status.updatedAt = Date.now();
    const seconds = (this.status.updatedAt - this.status.startedAt) / 1000;
    this.status.perSecond = seconds > 0 ? this.status.done / seconds : 0;
  }

  snapshot(): ReEncryptStatus {
    return { ...this.status };
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
