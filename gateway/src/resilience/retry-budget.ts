export interface BudgetSettings {
  /** Extra calls (retries, hedges) earned by each first call: 0.1 = at most 10% more load. */
  ratio: number;
  /** Extra calls a second allowed however little traffic there is (and the most banked). */
  minPerSecond: number;
}

/**
 * How many extra attempts — retries, hedged reads — a backend or namespace may make, so a struggling
 * backend is never hit with a multiple of its normal load (the retry storm that turns a slow
 * database into a dead one). Each first call deposits `ratio` of a token, a trickle of
 * `minPerSecond` keeps a quiet gateway able to retry, and each extra attempt withdraws one token;
 * with none left, the extra attempt is not made. At most about `minPerSecond` tokens bank up, so
 * a sudden wave of failures gets that many retries, then only `ratio` of the calls still arriving.
 *
 * @example const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 10 }); budget.deposit(); if (budget.withdraw()) retry();
 */
export class RetryBudget {
  private tokens: number;
  private refilledAt: number;
  /** Extra attempts refused because the budget was spent. */
  exhausted = 0;
  /** Extra attempts made. */
  spent = 0;

  constructor(
    private readonly settings: BudgetSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = settings.minPerSecond;
    this.refilledAt = now();
  }

  /** A first attempt was made: it earns `ratio` of an extra one. */
  deposit(): void {
    this.tokens = Math.min(this.tokens + this.settings.ratio, this.capacity());
  }

  /** Takes one token for an extra attempt; false (and counted) when none is left. */
  withdraw(): boolean {
    this.refill();
    if (this.tokens < 1) {
      this.exhausted++;
      return false;
    }
    this.tokens -= 1;
    this.spent++;
    return true;
  }

  private refill(): void {
    const now = this.now();
    const elapsed = (now - this.refilledAt) / 1000;
    if (elapsed <= 0) return;
    this.refilledAt = now;
    this.tokens = Math.min(this.tokens + elapsed * this.settings.minPerSecond, this.capacity());
  }

  private capacity(): number {
    return Math.max(this.settings.minPerSecond, 1);
  }
}
