import type { Backend } from "@prism/core";
import { aroundCalls, type BackendMethod } from "../telemetry/instrumented.js";
import type { RetryBudget } from "./retry-budget.js";

/** A namespace's `hedge:` setting. */
export interface HedgeSettings {
  /** How long the first attempt of a read may take before a second one is sent. */
  afterMs: number;
  /** Second attempts per first one at most (0.1: 10% more reads). */
  maxRatio: number;
}

/** Point reads: short, and worth sending twice. Scans, traversals and paths are not. */
const HEDGED: Readonly<Record<string, ReadonlySet<string>>> = {
  keyvalue: new Set(["get"]),
  timeseries: new Set(["read"]),
  graph: new Set(["getNodes", "neighbors"]),
};

/** Hedged reads of one namespace: how many were sent and how many answered first. */
export class HedgeCounters {
  sent = 0;
  won = 0;
  constructor(readonly budget: RetryBudget) {}
}

/**
 * A namespace's backend stack with hedged point reads (Dean & Barroso, "The Tail at Scale"): when
 * a read has not answered after `afterMs`, a second identical read goes out, the first answer
 * wins and the other is cancelled through its signal. A stalled connection, a slow replica or a
 * garbage-collection pause then costs `afterMs` instead of its whole length. Second reads come out
 * of a budget (`maxRatio` of the reads, `RetryBudget`), so a backend that is slow for everyone
 * gets at most that much more load, not twice as much. An attempt that fails while the other is
 * still running does not decide the call: the other may still answer.
 *
 * @example new Binding(hedged(layered, { afterMs: 20, maxRatio: 0.1 }, counters), …)
 */
export function hedged(backend: Backend, settings: HedgeSettings, counters: HedgeCounters): Backend {
  return aroundCalls(backend, (call, inner) =>
    HEDGED[call.pattern]?.has(call.operation) ? hedgedCall(inner, settings.afterMs, counters) : undefined,
  );
}

/** One read sent again after `afterMs`: the first success wins, the loser is aborted. */
function hedgedCall(inner: BackendMethod, afterMs: number, counters: HedgeCounters): BackendMethod {
  return (a, b, c, d) => {
    counters.budget.deposit();
    // The options (the call's signal) are the last argument given.
    const at = d !== undefined ? 3 : c !== undefined ? 2 : 1;
    const args = [a, b, c, d];
    const outer = (args[at] as { signal?: AbortSignal } | undefined)?.signal;
    return new Promise((resolve, reject) => {
      const controllers: AbortController[] = [];
      let pending = 0;
      let settled = false;
      let firstError: unknown;
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        settled = true;
        clearTimeout(timer);
        for (const controller of controllers) controller.abort();
      };
      const attempt = (hedge: boolean) => {
        const controller = new AbortController();
        controllers.push(controller);
        const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
        const attemptArgs = [...args];
        attemptArgs[at] = { ...(args[at] as object), signal };
        pending++;
        Promise.resolve(inner(attemptArgs[0], attemptArgs[1], attemptArgs[2], attemptArgs[3])).then(
          (result) => {
            pending--;
            if (settled) return;
            if (hedge) counters.won++;
            finish();
            resolve(result);
          },
          (error: unknown) => {
            pending--;
            if (settled) return;
            firstError ??= error;
            // The other attempt may yet answer. A failure before the hedge is due is the answer:
            // hedging is for slow reads, not a retry.
            if (pending > 0) return;
            finish();
            reject(firstError);
          },
        );
      };
      timer = setTimeout(() => {
        if (settled || outer?.aborted || !counters.budget.withdraw()) return;
        counters.sent++;
        attempt(true);
      }, afterMs);
      attempt(false);
    });
  };
}
