import { Client } from "pg";

/** How soon a dropped listening connection is opened again. */
const RECONNECT_MS = 1000;

/**
 * A tail's interest in one series: `wait` resolves when a write to it was announced since the
 * last `wait`, after `timeoutMs` (the poll fallback), or when `signal` fires — whichever is
 * first. Only a flag is kept, never events, so a slow tail buffers nothing.
 */
export interface ArrivalSubscription {
  wait(signal: AbortSignal | undefined, timeoutMs: number): Promise<void>;
  close(): void;
}

interface Waiter {
  pending: boolean;
  wake: (() => void) | undefined;
}

/**
 * ONE listening connection per backend instance (LISTEN on the schema's channel), fanned out in
 * process to the tails of each series. Writes notify `<ns>:<series>` on commit (ts-sql.ts). The
 * connection opens with the first subscription and reopens after a failure; while it is down,
 * and right after it is back, every tail is woken to poll, so nothing announced in between is
 * missed for longer than that.
 */
export class ArrivalListener {
  private client: Client | undefined;
  private connecting: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly applicationName: string,
    private readonly connectTimeoutMs: number,
  ) {}

  /**
   * Subscribes to arrivals in one series (`key` = the notification payload, `<ns>:<series>`).
   *
   * @example const arrivals = listener.subscribe(`${nsId}:${seriesId}`); await arrivals.wait(signal, 1000)
   */
  subscribe(key: string): ArrivalSubscription {
    const waiter: Waiter = { pending: false, wake: undefined };
    const set = this.waiters.get(key) ?? new Set<Waiter>();
    this.waiters.set(key, set);
    set.add(waiter);
    this.connect();
    return {
      wait: (signal, timeoutMs) => wait(waiter, signal, timeoutMs),
      close: () => {
        set.delete(waiter);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
        waiter.wake?.();
      },
    };
  }

  /** Ends the connection; idempotent. Open subscriptions fall back to polling. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private connect(): void {
    if (this.closed || this.client || this.connecting) return;
    const client = new Client({
      connectionString: this.url,
      connectionTimeoutMillis: this.connectTimeoutMs,
      application_name: this.applicationName,
      keepAlive: true,
    });
    client.on("notification", (message) => {
      if (message.payload !== undefined) this.wake(this.waiters.get(message.payload));
    });
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      this.wakeAll();
      this.scheduleReconnect();
    };
    client.on("error", lost);
    client.on("end", lost);
    this.connecting = (async () => {
      try {
        await client.connect();
        await client.query(`LISTEN "${this.channel}"`);
        if (this.closed) {
          await client.end();
          return;
        }
        this.client = client;
        // Writes committed while we were not listening were not announced to us.
        this.wakeAll();
      } catch {
        client.end().catch(() => undefined);
        this.scheduleReconnect();
      } finally {
        this.connecting = undefined;
      }
    })();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retry || this.waiters.size === 0) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect();
    }, RECONNECT_MS);
    this.retry.unref();
  }

  private wakeAll(): void {
    for (const set of this.waiters.values()) this.wake(set);
  }

  private wake(set: Set<Waiter> | undefined): void {
    for (const waiter of set ?? []) {
      waiter.pending = true;
      waiter.wake?.();
    }
  }
}

function wait(waiter: Waiter, signal: AbortSignal | undefined, timeoutMs: number): Promise<void> {
  if (waiter.pending || signal?.aborted) {
    waiter.pending = false;
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      waiter.wake = undefined;
      waiter.pending = false;
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    signal?.addEventListener("abort", done);
    waiter.wake = done;
  });
}
