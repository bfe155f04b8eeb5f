import { build, type Histogram } from "hdr-histogram-js";

export type { Histogram } from "hdr-histogram-js";

/** Percentiles of one operation's latencies, in milliseconds (3 decimals). */
export interface LatencyMs {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * An HDR histogram of latencies in microseconds: 1 µs to 60 s (it resizes beyond that) at 3
 * significant digits, so every percentile is within 0.1 %; 2 digits (1 %) for the per-second
 * ones, whose percentiles are read every second (reading walks the buckets: 10× fewer of them).
 * Not the packed kind: recording into it costs the client several times more CPU.
 *
 * @example const h = latencyHistogram(); h.recordValue(250); latencyMs(h).p50 // 0.25
 */
export function latencyHistogram(digits: 2 | 3 = 3): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: digits,
  });
}

/**
 * The percentiles a result reports, converted from µs to ms.
 *
 * @example latencyMs(h).p99 // 1.83
 */
export function latencyMs(histogram: Histogram): LatencyMs {
  const ms = (micros: number) => Math.round(micros) / 1000;
  if (histogram.totalCount === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
    mean: ms(histogram.mean),
  };
}
