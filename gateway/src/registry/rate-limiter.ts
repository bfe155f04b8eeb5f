/**
 * A token bucket: `rps` tokens a second, bursts up to one second's worth. One per namespace with
 * a limit (and one per principal with `principal_rps`); `tryTake` is O(1) and allocation-free on
 * the request path.
 */
export class RateLimiter {
  private tokens: number;
  private last = performance.now();

  constructor(readonly rps: number) {
    this.tokens = rps;
  }

  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token (0 when one is there): the retry-after of a refusal. */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rps) * 1000);
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.rps, this.tokens + ((now - this.last) / 1000) * this.rps);
    this.last = now;
  }
}
