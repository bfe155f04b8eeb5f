import { build, type Histogram } from "hdr-histogram-js";

export type { Histogram } from "hdr-histogram-js";

/** Percentiles of one target's latencies, in microseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * An HDR histogram of latencies in microseconds: 1 µs to 60 s at 3 significant digits (auto-resizes
 * beyond that), so recording never allocates and every percentile is within 0.1 %.
 *
 * @example const h = latencyHistogram(); h.recordValue(250); summarize(h).p50 // 250
 */
export function latencyHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/**
 * One histogram holding every value of `histograms` (e.g. all measured rounds of one target).
 *
 * @example summarize(mergeHistograms(rounds.map((r) => r.histogram)))
 */
export function mergeHistograms(histograms: readonly Histogram[]): Histogram {
  const merged = latencyHistogram();
  for (const histogram of histograms) merged.add(histogram);
  return merged;
}

/**
 * The percentiles the report prints.
 *
 * @example summarize(h).p99 // 1830
 */
export function summarize(histogram: Histogram): LatencySummary {
  return {
    count: histogram.totalCount,
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.maxValue,
    mean: Math.round(histogram.mean),
  };
}
