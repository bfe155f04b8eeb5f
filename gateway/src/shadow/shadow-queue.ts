/** One write to mirror: run against the shadow with a signal that fires at the shadow timeout. */
export type ShadowTask = (signal: AbortSignal) => Promise<void>;

export interface ShadowQueueOptions {
  /** Most tasks waiting or running; beyond it new tasks are dropped and counted. */
  maxTasks: number;
  /** Most payload bytes waiting or running (the tasks' `bytes`); beyond it, dropped likewise. */
  maxBytes: number;
  /** Lanes (records, series) mirrored at once. */
  concurrency: number;
  /** A task taking longer fails (counted) and its lane moves on. */
  timeoutMs: number;
}

/** What happened to mirrored writes; the queue only adds to these. */
export interface ShadowWriteCounters {
  writesOk: number;
  writesFailed: number;
  writesDropped: number;
  /** Epoch ms of the last dropped or failed write; 0 = none. Promote compares it with the backfill. */
  lastProblemAt: number;
}

/**
 * The dual-write queue of one namespace: bounded by tasks and bytes, FIFO per lane (a record id or
 * series id, or one lane for a whole graph), lanes in parallel up to `concurrency`. `offer` never
 * waits and never throws: a full queue drops the task and counts it, so the primary's answer is
 * never slowed or failed by the shadow. A failed task is counted and its lane continues.
 *
 * @example queue.offer(id, bytes, (signal) => shadow.put(ns, id, items, { signal }).then(() => {}))
 */
export class ShadowQueue {
  private readonly lanes = new Map<string, { task: ShadowTask; bytes: number }[]>();
  /** Running tasks' controllers and when each times out: one watchdog timer, not one per task. */
  private readonly deadlines = new Map<AbortController, number>();
  private watchdog: NodeJS.Timeout | undefined;
  /** Lanes with work and no task running, in arrival order. */
  private readonly ready: string[] = [];
  private running = 0;
  private tasks = 0;
  private bytes = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly options: ShadowQueueOptions,
    readonly counters: ShadowWriteCounters = {
      writesOk: 0,
      writesFailed: 0,
      writesDropped: 0,
      lastProblemAt: 0,
    },
    private readonly onFailure: (error: unknown) => void = () => {},
  ) {}

  /** Tasks waiting or running. */
  get depth(): number {
    return this.tasks;
  }

  /** Enqueues `task` behind earlier tasks of `lane`; false (counted as dropped) when full or closed. */
  offer(lane: string, bytes: number, task: ShadowTask): boolean {
    const { maxTasks, maxBytes } = this.options;
    if (this.closed || this.tasks >= maxTasks || (this.tasks > 0 && this.bytes + bytes > maxBytes)) {
      this.counters.writesDropped++;
      this.counters.lastProblemAt = Date.now();
      return false;
    }
    this.tasks++;
    this.bytes += bytes;
    const waiting = this.lanes.get(lane);
    if (waiting) {
      waiting.push({ task, bytes });
      return true;
    }
    this.lanes.set(lane, [{ task, bytes }]);
    this.ready.push(lane);
    this.pump();
    return true;
  }

  /** Resolves when every task offered so far has finished (or at `timeoutMs`): false if not drained. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.tasks === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([drained, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Refuses new tasks (counted as dropped); tasks already queued still run. */
  close(): void {
    this.closed = true;
  }

  /** Times `controller` out after `timeoutMs` (to within a tenth of it). */
  private arm(controller: AbortController): void {
    const { timeoutMs } = this.options;
    this.deadlines.set(controller, performance.now() + timeoutMs);
    if (this.watchdog) return;
    this.watchdog = setInterval(
      () => {
        const now = performance.now();
        for (const [running, at] of this.deadlines) {
          if (at > now) continue;
          this.deadlines.delete(running);
          running.abort(new DOMException("the shadow write timed out", "TimeoutError"));
        }
        if (this.deadlines.size > 0) return;
        clearInterval(this.watchdog);
        this.watchdog = undefined;
      },
      Math.max(5, timeoutMs / 10),
    );
    this.watchdog.unref();
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.ready.length > 0) {
      const lane = this.ready.shift()!;
      this.running++;
      void this.runLane(lane);
    }
  }

  private async runLane(lane: string): Promise<void> {
    const waiting = this.lanes.get(lane)!;
    while (waiting.length > 0) {
      const { task, bytes } = waiting[0]!;
      const controller = new AbortController();
      this.arm(controller);
      try {
        await task(controller.signal);
        this.counters.writesOk++;
      } catch (error) {
        this.counters.writesFailed++;
        this.counters.lastProblemAt = Date.now();
        this.onFailure(error);
      } finally {
        this.deadlines.delete(controller);
        this.bytes -= bytes;
      }
      waiting.shift();
      this.tasks--;
      // Let other lanes take turns: a hot record must not hold a worker forever.
      if (waiting.length > 0 && this.ready.length > 0) {
        this.ready.push(lane);
        this.running--;
        this.pump();
        return;
      }
    }
    this.lanes.delete(lane);
    this.running--;
    if (this.tasks === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
    this.pump();
  }
}
