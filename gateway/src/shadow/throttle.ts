import { abortError } from "@prism/core";

/**
 * Paces a copy to at most `recordsPerSecond` and `bytesPerSecond`: `take` waits until what was
 * taken so far fits both rates since the throttle began (bursts of up to one second's worth).
 *
 * @example await throttle.take(page.records, page.bytes, signal)
 */
export class Throttle {
  private readonly began = performance.now();
  private records = 0;
  private bytes = 0;

  constructor(
    private readonly recordsPerSecond: number,
    private readonly bytesPerSecond: number,
  ) {}

  async take(records: number, bytes: number, signal: AbortSignal): Promise<void> {
    this.records += records;
    this.bytes += bytes;
    const dueMs =
      Math.max(this.records / this.recordsPerSecond, this.bytes / this.bytesPerSecond) * 1000 - 1000;
    const waitMs = dueMs - (performance.now() - this.began);
    if (waitMs <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, waitMs);
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(signal));
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
