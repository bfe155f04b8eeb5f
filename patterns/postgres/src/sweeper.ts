import type { PostgresPool } from "./postgres-pool.js";
import { bound, type Statement, type Statements } from "./sql.js";

/** Rows deleted per statement: short transactions, short row locks. */
const BATCH_SIZE = 1000;
/** Batches per table per tick: a backlog drains over several ticks instead of one long burst. */
const MAX_BATCHES = 50;

/**
 * Physically deletes expired items and forgotten idempotency keys. Reads already hide them, so
 * this only reclaims space; it runs on a timer that never keeps the process alive, one sweep at a
 * time, and a failed sweep is simply retried on the next tick.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly pool: PostgresPool,
    private readonly sql: Statements,
    private readonly intervalMs: number,
  ) {}

  /** Starts sweeping every `intervalMs`. */
  start(): void {
    this.timer ??= setInterval(() => void this.sweep(), this.intervalMs);
    this.timer.unref();
  }

  /** Sweeps now (or joins the sweep in progress). Never rejects. */
  sweep(): Promise<void> {
    this.running ??= this.sweepTables().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops the timer and abandons a sweep in progress. Idempotent. */
  stop(): void {
    clearInterval(this.timer);
    this.stopping.abort();
  }

  private async sweepTables(): Promise<void> {
    try {
      await this.sweepTable(this.sql.sweepItems);
      await this.sweepTable(this.sql.sweepClaims);
    } catch {
      // The server is down or we are closing: health reports the former, the next tick retries.
    }
  }

  private async sweepTable(statement: Statement): Promise<void> {
    for (let batch = 0; batch < MAX_BATCHES && !this.stopping.signal.aborted; batch++) {
      const { rowCount } = await this.pool.run(this.stopping.signal, (client) =>
        client.query(bound(statement, [Date.now(), BATCH_SIZE])),
      );
      if ((rowCount ?? 0) < BATCH_SIZE) return;
    }
  }
}
