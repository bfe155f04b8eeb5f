import type { Metric, Registry } from "prom-client";

/**
 * Latency buckets in seconds, 0.1 ms to 10 s: a memory Get takes tens of microseconds in the
 * gateway, a PostgreSQL call a millisecond or so, a traversal or a backfill page up to seconds.
 */
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** One exposition line's labels and value (prom-client's shape; `metricName` for `_bucket` etc.). */
export interface Sample {
  labels: Readonly<Record<string, string>>;
  value: number;
  metricName?: string;
}

/**
 * A latency histogram of one series, kept as plain numbers: `observe` is a few comparisons and
 * three increments, with no label hashing or allocation (prom-client's own histograms hash the
 * label set on every observation, which the request path cannot afford).
 *
 * @example const latency = new LatencyHistogram(); latency.observe(0.0004);
 */
export class LatencyHistogram {
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[] = LATENCY_BUCKETS) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  /** The series' `_bucket` (cumulative, `le` ascending, then `+Inf`), `_sum` and `_count` lines. */
  samples(name: string, labels: Readonly<Record<string, string>>): Sample[] {
    const samples: Sample[] = [];
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      const le = i < this.bounds.length ? String(this.bounds[i]) : "+Inf";
      samples.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
    }
    samples.push({ metricName: `${name}_sum`, labels, value: this.sum });
    samples.push({ metricName: `${name}_count`, labels, value: this.count });
    return samples;
  }
}

/** What a collected metric is, for its `# HELP` and `# TYPE` lines. */
export interface MetricFamily {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  /**
   * How the supervisor of several workers combines their samples (ADR-0028): `sum` (the default:
   * counters, queue depths), `max` (a state shared by all, or the worst one), `min` (up on all).
   */
  aggregator?: "sum" | "max" | "min";
}

/**
 * Registers a metric whose samples `collect` reads at scrape time (from plain counters kept on
 * the request path, shadow states, the config store, …). prom-client renders it like its own.
 *
 * @example collected(registry, { name: "prism_shadow_queue_depth", help: "…", type: "gauge" }, () => samples)
 */
export function collected(
  registry: Registry,
  family: MetricFamily,
  collect: () => Sample[] | Promise<Sample[]>,
): void {
  const aggregator = family.aggregator ?? "sum";
  const metric = {
    ...family,
    aggregator,
    async get() {
      return { ...family, aggregator, values: await collect() };
    },
    // Registry.resetMetrics() calls it; these counters belong to their owners.
    reset() {},
  };
  // prom-client types registerMetric for its own classes only; the registry needs name and get().
  registry.registerMetric(metric as unknown as Metric);
}
