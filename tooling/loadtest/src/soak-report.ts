import type { TopLevelSpec } from "vega-lite";
import { CHART_CONFIG } from "./chart.js";
import type { LoadtestResult } from "./result.js";
import { robustTrend, type Trend, trend } from "./slope.js";
import type { SoakSample } from "./soak-sampler.js";

/** The largest slope each series may have after the warm-up share, per minute. */
export interface SoakBounds {
  /** Gateway RSS, MiB per minute. */
  rssMiBPerMin: number;
  /** Gateway V8 heap in use, MiB per minute. */
  heapMiBPerMin: number;
  /** Client p99 per interval, ms per minute. */
  p99MsPerMin: number;
  /** Failed requests over all requests, at most (a soak that fails requests proves nothing). */
  errorRate: number;
}

/** The bounds CI holds a 10-minute soak to; README.md says why these numbers. */
export const DEFAULT_BOUNDS: SoakBounds = {
  rssMiBPerMin: 4,
  heapMiBPerMin: 2,
  p99MsPerMin: 2,
  errorRate: 0.01,
};

/** soak.json: the run, its samples, and the verdict. */
export interface SoakReport {
  version: 1;
  startedAt: string;
  minutes: number;
  rate: number;
  sampleSeconds: number;
  /** Share of the run (from its start) left out of the fits. */
  warmupShare: number;
  /** RSS and heap are fitted through one point per block of this many minutes (its lowest); p99 by Theil–Sen over every sample. */
  blockMinutes: number;
  bounds: SoakBounds;
  trends: { rssMiB: Trend; heapUsedMiB: Trend; p99Ms: Trend };
  errorRate: number;
  /** Which checks failed; empty when the soak passed. */
  failures: string[];
  samples: SoakSample[];
  /** The load test's per-operation summary over the whole run (no per-second timeline). */
  load: Omit<LoadtestResult, "timeline">;
}

/**
 * Fits the trends and judges them against the bounds.
 *
 * @example const report = buildSoakReport({ samples, load, bounds, warmupShare: 0.2, … })
 */
export function buildSoakReport(input: {
  startedAt: Date;
  minutes: number;
  rate: number;
  sampleSeconds: number;
  warmupShare: number;
  bounds: SoakBounds;
  samples: SoakSample[];
  load: LoadtestResult;
}): SoakReport {
  const { samples, bounds, warmupShare } = input;
  const minutes = samples.map((sample) => sample.t / 60);
  // Every series is fitted through one point per block (see `Blocks`): five blocks after the
  // warm-up, at most 2 min each (V8 collects, and gives memory back, well within that at any
  // useful rate), at least two samples each.
  const blockMinutes = Math.min(
    2,
    Math.max((2 * input.sampleSeconds) / 60, ((minutes.at(-1) ?? 0) * (1 - warmupShare)) / 5),
  );
  const series = (pick: (sample: SoakSample) => number | null) => samples.map((s) => pick(s) ?? Number.NaN);
  const trends = {
    rssMiB: trend(
      minutes,
      series((s) => s.rssMiB),
      warmupShare,
      bounds.rssMiBPerMin,
      { minutes: blockMinutes, pick: "min" },
    ),
    heapUsedMiB: trend(
      minutes,
      series((s) => s.heapUsedMiB),
      warmupShare,
      bounds.heapMiBPerMin,
      { minutes: blockMinutes, pick: "min" },
    ),
    p99Ms: robustTrend(
      minutes,
      series((s) => s.p99Ms),
      warmupShare,
      bounds.p99MsPerMin,
    ),
  };
  let ok = 0;
  let failed = 0;
  for (const op of Object.values(input.load.operations)) {
    ok += op.ok;
    failed += op.count - op.ok;
  }
  const errorRate = ok + failed === 0 ? 1 : failed / (ok + failed);
  const failures: string[] = [];
  const unit = { rssMiB: "MiB/min", heapUsedMiB: "MiB/min", p99Ms: "ms/min" };
  for (const [name, fit] of Object.entries(trends)) {
    if (fit.points < 2) failures.push(`${name}: fewer than 2 samples after the warm-up`);
    else if (!fit.ok)
      failures.push(
        `${name} grows ${fit.slope.toFixed(3)} ${unit[name as keyof typeof unit]} > ${fit.bound}`,
      );
  }
  if (errorRate > bounds.errorRate)
    failures.push(`error rate ${(errorRate * 100).toFixed(2)} % > ${bounds.errorRate * 100} %`);
  const { timeline: _, ...load } = input.load;
  return {
    version: 1,
    startedAt: input.startedAt.toISOString(),
    minutes: input.minutes,
    rate: input.rate,
    sampleSeconds: input.sampleSeconds,
    warmupShare,
    blockMinutes,
    bounds,
    trends,
    errorRate,
    failures,
    samples,
    load,
  };
}

/**
 * The verdict as text: one line per series (slope vs bound), the error rate, pass or fail.
 *
 * @example process.stdout.write(formatSoakReport(report))
 */
export function formatSoakReport(report: SoakReport): string {
  const signed = (value: number) => `${value >= 0 ? "+" : ""}${value.toFixed(3)}`;
  const line = (label: string, fit: Trend, unit: string) =>
    `  ${label.padEnd(10)} slope ${signed(fit.slope)} ${unit}${fit.low === undefined ? "" : ` (95% ${signed(fit.low)}…${signed(fit.high!)})`} (bound ${fit.bound}, ${fit.points} points) ${fit.ok ? "ok" : "TOO STEEP"}`;
  const last = report.samples.at(-1);
  return [
    `soak: ${report.minutes} min at ${report.rate}/s, ${report.samples.length} samples every ${report.sampleSeconds} s; first ${report.warmupShare * 100}% left out of the fits`,
    `  last sample: RSS ${last?.rssMiB ?? "n/a"} MiB, heap ${last?.heapUsedMiB ?? "n/a"} MiB, loop lag p99 ${last?.lagP99Ms ?? "n/a"} ms, client p99 ${last?.p99Ms ?? "n/a"} ms`,
    line("RSS floor", report.trends.rssMiB, "MiB/min"),
    line("heap floor", report.trends.heapUsedMiB, "MiB/min"),
    line("p99", report.trends.p99Ms, "ms/min"),
    `  errors     ${(report.errorRate * 100).toFixed(3)} % of requests (bound ${report.bounds.errorRate * 100} %)`,
    report.failures.length === 0 ? "PASS: no upward trend" : `FAIL: ${report.failures.join("; ")}`,
    "",
  ].join("\n");
}

/**
 * The soak's chart: RSS, heap, event-loop lag p99 and client p99 over time, one panel each, with
 * the fitted line (after the warm-up share) dashed over RSS, heap and p99.
 *
 * @example await renderPng(soakChart(report))
 */
export function soakChart(report: SoakReport): TopLevelSpec {
  const panels = [
    { field: "rssMiB", title: "gateway RSS (MiB)", fit: report.trends.rssMiB },
    { field: "heapUsedMiB", title: "gateway heap used (MiB)", fit: report.trends.heapUsedMiB },
    { field: "lagP99Ms", title: "event-loop lag p99 (ms)", fit: undefined },
    { field: "p99Ms", title: "client p99 (ms)", fit: report.trends.p99Ms },
  ] as const;
  const values = report.samples.map((sample) => ({ ...sample, minute: sample.t / 60 }));
  const end = values.at(-1)?.minute ?? 0;
  const from = end * report.warmupShare;
  const x = { field: "minute", type: "quantitative", title: "minutes" } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `soak: ${report.rate}/s for ${report.minutes} min — ${report.failures.length === 0 ? "PASS" : "FAIL"}`,
    config: CHART_CONFIG,
    vconcat: panels.map(({ field, title, fit }) => ({
      width: 760,
      height: 130,
      layer: [
        {
          data: { values },
          mark: { type: "line", point: values.length <= 60 },
          encoding: { x, y: { field, type: "quantitative", title, scale: { zero: false } } },
        },
        ...(fit
          ? [
              {
                data: {
                  values: [from, end].map((minute) => ({
                    minute,
                    [field]: fit.intercept + fit.slope * minute,
                  })),
                },
                mark: { type: "line" as const, strokeDash: [6, 4], color: "#d62728" },
                encoding: { x, y: { field, type: "quantitative" as const } },
              },
            ]
          : []),
      ],
    })),
  };
}
