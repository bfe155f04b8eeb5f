/**
 * Serialises async work per key inside this process (a write's check-then-append for one series).
 * Keys without waiters are forgotten, so the map holds only series being written right now.
 *
 * @example await locks.run("ns\u0000series", () => checkAndAppend())
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return result;
  }
}
