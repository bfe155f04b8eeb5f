import { readFileSync } from "node:fs";
import { latencyHistogram } from "./histogram.js";

/** One reading of the soak, every few seconds. */
export interface SoakSample {
  /** Seconds since the schedule started. */
  t: number;
  /** The gateway's resident set (`VmRSS` in /proc/<pid>/status), MiB. */
  rssMiB: number | null;
  /** V8 heap in use (`nodejs_heap_size_used_bytes` from the gateway's /metrics), MiB. */
  heapUsedMiB: number | null;
  /** The gateway's event-loop delay p99 since the previous scrape (`nodejs_eventloop_lag_p99_seconds`), ms. */
  lagP99Ms: number | null;
  /** Client-side p99 of the requests completed in this interval (from their scheduled start), ms. */
  p99Ms: number | null;
  /** Requests completed without error per second in this interval. */
  okRate: number;
  /** Requests that failed in this interval. */
  errors: number;
}

const MiB = 1024 * 1024;

/**
 * A metric's value in a Prometheus text exposition: the first sample of `name` (with or without
 * labels); null when absent.
 *
 * @example metricValue("nodejs_heap_size_used_bytes 5242880\n", "nodejs_heap_size_used_bytes") // 5242880
 */
export function metricValue(exposition: string, name: string): number | null {
  for (const line of exposition.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const value = Number(
      rest
        .slice(rest.lastIndexOf("}") + 1)
        .trim()
        .split(" ")[0],
    );
    return Number.isFinite(value) ? value : null;
  }
  return null;
}

/**
 * Resident set size of `pid` in bytes (`VmRSS` in `/proc/<pid>/status`); null without procfs.
 *
 * @example rssBytes(process.pid)
 */
export function rssBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Collects the soak's readings: client completions arrive through `record` (the engine's
 * `onComplete`), and `sample()` closes an interval — reads the gateway's RSS from /proc, scrapes
 * its heap and event-loop delay, and takes the interval's client p99 and rate.
 *
 * @example const sampler = new SoakSampler(gateway.pid, gateway.metricsUrl); … samples.push(await sampler.sample(t))
 */
export class SoakSampler {
  private readonly interval = latencyHistogram();
  private errors = 0;
  private since = performance.now();

  constructor(
    private readonly pid: number,
    private readonly metricsUrl: string,
  ) {}

  /** Counts one completed request (latency in µs from its scheduled start). */
  readonly record = (_operation: string, latencyMicros: number, ok: boolean): void => {
    if (ok) this.interval.recordValue(latencyMicros);
    else this.errors++;
  };

  /** Closes the interval that ends now, `t` seconds into the run. */
  async sample(t: number): Promise<SoakSample> {
    const now = performance.now();
    const seconds = Math.max(0.001, (now - this.since) / 1000);
    const completed = this.interval.totalCount;
    const p99 = completed > 0 ? this.interval.getValueAtPercentile(99) / 1000 : null;
    const errors = this.errors;
    this.interval.reset();
    this.errors = 0;
    this.since = now;
    const rss = rssBytes(this.pid);
    const exposition = await scrape(this.metricsUrl);
    const heap = exposition === null ? null : metricValue(exposition, "nodejs_heap_size_used_bytes");
    const lag = exposition === null ? null : metricValue(exposition, "nodejs_eventloop_lag_p99_seconds");
    return {
      t: round(t, 1),
      rssMiB: rss === null ? null : round(rss / MiB, 2),
      heapUsedMiB: heap === null ? null : round(heap / MiB, 2),
      lagP99Ms: lag === null ? null : round(lag * 1000, 2),
      p99Ms: p99 === null ? null : round(p99, 3),
      okRate: round(completed / seconds, 1),
      errors,
    };
  }
}

/** The metrics text, or null when the endpoint does not answer within 5 s. */
async function scrape(url: string): Promise<string | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return response.ok ? await response.text() : null;
  } catch {
    return null;
  }
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
