import { type Backend, isPrismError } from "@prism/core";
import { aroundCalls, type BackendCall, type BackendMethod } from "../telemetry/instrumented.js";
import { type BudgetSettings, RetryBudget } from "./retry-budget.js";

export interface RetrySettings extends BudgetSettings {
  /** Attempts of one call in all, the first included; 1 turns retries off. */
  maxAttempts: number;
  /** Pause before the first retry, doubled for each further one, with ±50% jitter. */
  backoffMs: number;
}

/**
 * Backend operations that may run twice with the effect of once. Reads; TimeSeries writes (the
 * event's `(series, time, id)` is its idempotency key); Graph upserts (they replace) and deletes;
 * KeyValue puts and deletes (a put sets the same items again; one with an idempotency key is
 * applied once by the backend). Never `mutate` (its conditions may hold the first time only),
 * streams (a tail has already delivered events) or `retain` (background work retries itself).
 */
const IDEMPOTENT: Readonly<Record<string, ReadonlySet<string>>> = {
  keyvalue: new Set(["get", "scan", "put", "delete"]),
  timeseries: new Set(["read", "scan", "write"]),
  graph: new Set([
    "getNodes",
    "getEdges",
    "neighbors",
    "traverse",
    "shortestPath",
    "scanNodes",
    "scanEdges",
    "upsertNodes",
    "upsertEdges",
    "deleteNodes",
    "deleteEdges",
  ]),
};

/**
 * Whether a failed attempt is worth another: the backend was unreachable or dropped the
 * connection. Not when its circuit is open (the breaker decided), not a timeout (the deadline
 * is spent or the backend is slow — another attempt adds load where it hurts), not an answer.
 */
export function retryable(error: unknown): boolean {
  return isPrismError(error, "Unavailable") && error.metadata?.circuit !== "open";
}

/**
 * Retries of idempotent backend calls that failed as unavailable — a connection the database
 * dropped, a failover — within a budget per backend instance (`RetryBudget`: at most `ratio`
 * more load), after a jittered backoff that the call's deadline or cancel cuts short. Layered
 * under the instrumented backend (`gateway.ts`): the circuit breaker, spans and timing see a call
 * with its retries as one call — a call that succeeded on its second attempt is a success, so
 * the connections a database drops all at once (a failover, a restarted pooler) are retried
 * instead of opening the circuit; an open circuit refuses the call before any attempt.
 *
 * @example const layered = instrumented(retries.wrap(backend), hooks); chunked(layered.keyvalue!, options);
 */
export class Retries {
  private readonly budgets = new Map<string, RetryBudget>();

  constructor(
    private readonly settings: RetrySettings,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void> = abortableSleep,
  ) {}

  readonly wrap = (backend: Backend): Backend => {
    if (this.settings.maxAttempts <= 1) return backend;
    const budget = this.budgetFor(backend.name);
    return aroundCalls(backend, (call, inner) =>
      IDEMPOTENT[call.pattern]?.has(call.operation) && !call.streaming
        ? this.retried(call, inner, budget)
        : undefined,
    );
  };

  /** The budget of a backend instance (for metrics); undefined for one never wrapped. */
  budget(backend: string): RetryBudget | undefined {
    return this.budgets.get(backend);
  }

  entries(): Iterable<[string, RetryBudget]> {
    return this.budgets.entries();
  }

  private budgetFor(backend: string): RetryBudget {
    let budget = this.budgets.get(backend);
    if (!budget) {
      budget = new RetryBudget(this.settings);
      this.budgets.set(backend, budget);
    }
    return budget;
  }

  private retried(_call: BackendCall, inner: BackendMethod, budget: RetryBudget): BackendMethod {
    const { maxAttempts, backoffMs } = this.settings;
    return async (a, b, c, d) => {
      budget.deposit();
      const signal = ((d ?? c ?? b) as { signal?: AbortSignal } | undefined)?.signal;
      for (let attempt = 1; ; attempt++) {
        try {
          return await inner(a, b, c, d);
        } catch (error) {
          if (attempt >= maxAttempts || !retryable(error) || signal?.aborted || !budget.withdraw())
            throw error;
          const pause = backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random());
          // A deadline or cancel during the pause: the call fails with the backend's error.
          if (!(await this.sleep(pause, signal).then(() => !signal?.aborted))) throw error;
        }
      }
    };
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
