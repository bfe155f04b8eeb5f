import { PrismError } from "@prism/core";
import type { Interceptor } from "../pipeline/pipeline.js";

/** How often the delay probe ticks. */
const TICK_MS = 20;

export interface SheddingSettings {
  /** Event-loop delay (worst per sample, sustained over two samples) above which bulk calls are refused; 0 = never shed. */
  shedLagMs: number;
  /** How often the delay is sampled. */
  sampleMs: number;
}

/**
 * Watches the event loop's delay and says which work to refuse while the gateway is overloaded:
 * above `shedLagMs`, bulk calls (server streams: Scan, Tail, Traverse) — the lowest priority;
 * above twice that, every data call. Health, reflection and admin calls are never shed, so
 * probes and operators get through. Refusing early is cheaper than answering late: a shed call
 * costs a few microseconds, and clients get RESOURCE_EXHAUSTED with a retry delay instead of a
 * deadline.
 *
 * @example const shedder = new LoadShedder({ shedLagMs: 250, sampleMs: 500 }); … interceptors: [shed(shedder)]
 */
export class LoadShedder {
  /** The event loop's sustained delay: the lower of the last two samples' worst delay, in ms. */
  lagMs = 0;
  private previousMs = 0;
  private windowMs = 0;
  private expected = 0;
  private readonly ticker: NodeJS.Timeout | undefined;
  private readonly sampler: NodeJS.Timeout | undefined;

  constructor(readonly settings: SheddingSettings) {
    if (settings.shedLagMs <= 0) return;
    // A tick every TICK_MS notes how late it ran: how long the loop was blocked before it.
    // (perf_hooks' monitorEventLoopDelay drops the first delay after each reset.)
    this.expected = performance.now() + TICK_MS;
    this.ticker = setInterval(() => {
      const now = performance.now();
      this.windowMs = Math.max(this.windowMs, now - this.expected);
      this.expected = now + TICK_MS;
    }, TICK_MS);
    this.ticker.unref();
    this.sampler = setInterval(() => this.sample(), settings.sampleMs);
    this.sampler.unref();
  }

  /**
   * Closes the current window. Lag counts only when two windows in a row show it: one long pause
   * (a major GC, a lazy import) sheds nothing.
   */
  sample(): void {
    const current = Math.max(this.windowMs, performance.now() - this.expected);
    this.windowMs = 0;
    this.lagMs = Math.min(current, this.previousMs);
    this.previousMs = current;
  }

  /** Forgets what was measured so far: called once the gateway serves (start-up is not overload). */
  restart(): void {
    this.expected = performance.now() + TICK_MS;
    this.windowMs = 0;
    this.lagMs = 0;
    this.previousMs = 0;
  }

  /** Whether a call of this priority is refused now. */
  sheds(bulk: boolean): boolean {
    const { shedLagMs } = this.settings;
    if (shedLagMs <= 0) return false;
    return this.lagMs > (bulk ? shedLagMs : 2 * shedLagMs);
  }

  close(): void {
    clearInterval(this.ticker);
    clearInterval(this.sampler);
  }
}

/**
 * The pipeline step that sheds load (composed right after telemetry, so shed calls are counted
 * but cost no authentication or namespace look-up). Only pattern services' calls are shed.
 */
export function shed(shedder: LoadShedder): Interceptor {
  return (next, info) => {
    if (!info.pattern) return next;
    const bulk = info.method.methodKind === "server_streaming";
    const retryAfterMs = shedder.settings.sampleMs * 2;
    return (request, ctx) => {
      if (shedder.sheds(bulk)) {
        throw new PrismError("ResourceExhausted", "the gateway is overloaded; retry later", {
          reason: "OVERLOADED",
          metadata: { lag_ms: String(Math.round(shedder.lagMs)) },
          retryAfterMs,
        });
      }
      return next(request, ctx);
    };
  };
}
