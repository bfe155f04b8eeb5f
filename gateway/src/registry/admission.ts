import { PrismError } from "@prism/core";
import { RateLimiter } from "./rate-limiter.js";

/** A namespace's limits, as the spec sets them (`limits:`). */
export interface AdmissionLimits {
  /** Calls a second for the namespace. */
  rps?: number;
  /** Calls a second for each principal (auth on); anonymous callers share the namespace's bucket. */
  principalRps?: number;
  /** Calls of the namespace in progress at once (open-ended streams excepted). */
  concurrency?: number;
}

/** Principals whose buckets are kept; the least recently seen go first beyond it. */
const MAX_PRINCIPALS = 10_000;
/** What a concurrency refusal suggests waiting: calls in progress usually end within this. */
const CONCURRENCY_RETRY_MS = 50;

/**
 * Whether a namespace takes one more call now: its rate (token bucket), the caller's own rate
 * when `principalRps` is set, and its calls in progress. A refusal is RESOURCE_EXHAUSTED with a
 * retry delay (sent as google.rpc.RetryInfo and `retry-after-ms`). Kept across registry reloads
 * while the limits are unchanged, so a reload does not refill the buckets.
 *
 * @example const release = admission.admit("orders", "user:alice", true); … release?.();
 */
export class Admission {
  readonly rate: RateLimiter | undefined;
  private readonly principals = new Map<string, RateLimiter>();
  private inFlight = 0;

  constructor(readonly limits: Readonly<AdmissionLimits>) {
    this.rate = limits.rps === undefined ? undefined : new RateLimiter(limits.rps);
  }

  /** True when `other` sets the same limits (the admission can be kept). */
  sameAs(other: Readonly<AdmissionLimits>): boolean {
    const { rps, principalRps, concurrency } = this.limits;
    return rps === other.rps && principalRps === other.principalRps && concurrency === other.concurrency;
  }

  /**
   * Takes a token and a slot for one call, or throws the refusal. Returns the slot's release
   * (call it once, when the call ends), or undefined when there is no concurrency limit or the
   * call is `counted: false` (an open-ended stream).
   */
  admit(namespace: string, principal: string | undefined, counted: boolean): (() => void) | undefined {
    const { concurrency, principalRps } = this.limits;
    if (counted && concurrency !== undefined && this.inFlight >= concurrency) {
      throw new PrismError(
        "ResourceExhausted",
        `namespace ${namespace} has ${concurrency} calls in progress`,
        {
          reason: "CONCURRENCY_LIMITED",
          metadata: { namespace, concurrency: String(concurrency) },
          retryAfterMs: CONCURRENCY_RETRY_MS,
        },
      );
    }
    if (this.rate && !this.rate.tryTake()) {
      throw new PrismError("ResourceExhausted", `namespace ${namespace} is over its rate limit`, {
        reason: "RATE_LIMITED",
        metadata: { namespace, rps: String(this.rate.rps) },
        retryAfterMs: this.rate.waitMs(),
      });
    }
    if (principalRps !== undefined && principal !== undefined) {
      const bucket = this.bucketOf(principal, principalRps);
      if (!bucket.tryTake()) {
        throw new PrismError(
          "ResourceExhausted",
          `the caller is over its rate limit in namespace ${namespace}`,
          {
            reason: "PRINCIPAL_RATE_LIMITED",
            metadata: { namespace, rps: String(principalRps) },
            retryAfterMs: bucket.waitMs(),
          },
        );
      }
    }
    if (!counted || concurrency === undefined) return undefined;
    this.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
    };
  }

  private bucketOf(principal: string, rps: number): RateLimiter {
    let bucket = this.principals.get(principal);
    if (bucket) {
      // Most recently seen last: the Map's order is the eviction order.
      this.principals.delete(principal);
    } else {
      bucket = new RateLimiter(rps);
      if (this.principals.size >= MAX_PRINCIPALS) {
        const oldest = this.principals.keys().next().value;
        if (oldest !== undefined) this.principals.delete(oldest);
      }
    }
    this.principals.set(principal, bucket);
    return bucket;
  }
}
