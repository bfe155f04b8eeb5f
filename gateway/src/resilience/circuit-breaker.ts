import { type Backend, isPrismError, PrismError } from "@prism/core";
import { type BackendCall, type BackendCallHooks, instrumented } from "../telemetry/instrumented.js";

/** A breaker's state: calls flow (closed), are refused (open), or one probe is let through (half-open). */
export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitSettings {
  /** Consecutive failed calls (unavailable, timed out) that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses calls before it lets one probe through. */
  openMs: number;
}

/** The breaker's view of one call: when it started and whether it was the half-open probe. */
interface Ticket {
  probe: boolean;
}

/**
 * The circuit breaker of one backend instance. Calls failing with `Unavailable` or
 * `DeadlineExceeded` count; any success resets the count. At `failureThreshold` in a row the
 * circuit opens: calls are refused at once with BACKEND_UNAVAILABLE (no connection attempt, no
 * waiting out a driver timeout) for `openMs`; then one call at a time goes through as a probe —
 * success closes the circuit, failure opens it again. A refused call never reaches the backend,
 * so a dead database costs its namespaces a fast error and everything else nothing.
 *
 * Errors that say nothing about the backend's health (not found, invalid argument, a caller's
 * cancel) neither count nor reset.
 *
 * @example const breaker = new CircuitBreaker("pg-main", { failureThreshold: 5, openMs: 5000 });
 */
export class CircuitBreaker implements BackendCallHooks<Ticket> {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private current: CircuitState = "closed";
  /** Times the circuit opened since the gateway started. */
  opened = 0;

  constructor(
    readonly backend: string,
    private readonly settings: CircuitSettings,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (this.current === "open" && this.now() - this.openedAt >= this.settings.openMs) return "half-open";
    return this.current;
  }

  onStart(call: BackendCall): Ticket {
    if (this.current === "closed") return { probe: false };
    // A stream (a tail) ends only when its consumer stops: it cannot be the probe.
    if (this.state === "open" || this.probing || call.streaming) throw this.refusal();
    // Half-open: this call is the one probe.
    this.probing = true;
    return { probe: true };
  }

  onEnd(_call: BackendCall, ticket: Ticket, error: unknown): void {
    if (ticket.probe) this.probing = false;
    if (error === undefined) {
      this.failures = 0;
      this.current = "closed";
      return;
    }
    if (!isPrismError(error) || (error.kind !== "Unavailable" && error.kind !== "DeadlineExceeded")) {
      // The backend answered (with a refusal of its own): it is alive.
      if (ticket.probe) this.current = "closed";
      return;
    }
    this.failures++;
    if (ticket.probe || this.failures >= this.settings.failureThreshold) this.open();
  }

  private open(): void {
    if (this.current !== "open") this.opened++;
    this.current = "open";
    this.openedAt = this.now();
  }

  private refusal(): PrismError {
    return new PrismError("Unavailable", `backend ${this.backend} is unavailable`, {
      reason: "BACKEND_UNAVAILABLE",
      metadata: { backend: this.backend, circuit: "open" },
    });
  }
}

/**
 * One breaker per backend instance, and the layer that puts it over the backend (outermost, so a
 * refused call is not timed or traced as a backend call). Streams (a TimeSeries tail) count like
 * calls: refused when open, a failure when they fail.
 *
 * @example instrumented(backend, combineHooks([breakers.hooksFor(backend.name), metrics?.backends.hooks])!)
 */
export class CircuitBreakers {
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(private readonly settings: CircuitSettings) {}

  readonly wrap = (backend: Backend): Backend => instrumented(backend, this.hooksFor(backend.name));

  /** The breaker of a backend instance, created on first use: hooks for one combined layer. */
  hooksFor(backend: string): CircuitBreaker {
    let breaker = this.breakers.get(backend);
    if (!breaker) {
      breaker = new CircuitBreaker(backend, this.settings);
      this.breakers.set(backend, breaker);
    }
    return breaker;
  }

  /** The breaker of a backend instance; undefined for one this set does not guard. */
  get(backend: string): CircuitBreaker | undefined {
    return this.breakers.get(backend);
  }

  all(): Iterable<CircuitBreaker> {
    return this.breakers.values();
  }
}
