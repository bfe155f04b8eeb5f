/**
 * A token bucket: `rps` tokens a second, bursts up to one second's worth. One per namespace with
 * a limit; `tryTake` is O(1) and allocation-free on the request path.
 */
export class RateLimiter {
  private tokens: number;
  private last = performance.now();

  constructor(readonly rps: number) {
    this.tokens = rps;
  }

  tryTake(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.rps, this.tokens + ((now - this.last) / 1000) * this.rps);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
