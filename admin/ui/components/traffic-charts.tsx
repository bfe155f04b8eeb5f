import { useMemo } from "preact/hooks";
import type { TrafficPoint } from "../../src/api-types.js";
import { formatRate } from "../format.js";
import { useTrafficFeed } from "../traffic-feed.js";
import { type ChartSeries, UPlotChart } from "./uplot-chart.js";

const PALETTE = ["#d1495b", "#edae49", "#8e44ad", "#00798c", "#30638e", "#6a994e", "#bc6c25", "#5c677d"];
const LATENCY: ChartSeries[] = [
  { label: "p50", color: "#2a9d8f" },
  { label: "p99", color: "#e76f51" },
];
const RPS: ChartSeries[] = [{ label: "requests/s", color: "#3a6ea5" }];

/**
 * A namespace's live charts (requests/s, p50/p99 latency, errors/s by code), fed by the app's one
 * traffic stream. `data-points` counts the points received, for tests that watch it grow.
 */
export function TrafficCharts({ name, height = 150 }: { name: string; height?: number }) {
  const feed = useTrafficFeed();
  const series = feed.series.get(name);
  const points = series?.points ?? [];
  const received = series?.received ?? 0;
  const last = points.at(-1);
  const now = feed.now;
  // Rebuilt on each tick; `received` changes whenever points do (the array is appended in place).
  const data = useMemo(() => chartData(points, now), [received, now]);
  const errorSeries = useMemo(
    () => data.codes.map((code, i) => ({ label: code, color: PALETTE[i % PALETTE.length]! })),
    [data.codes.join(",")],
  );
  const rps = feed.rates[name] ?? 0;

  if (feed.available === false) {
    return <p class="notice">Traffic needs the gateway's metrics (metrics.enabled).</p>;
  }
  return (
    <section
      class="traffic"
      data-testid={`chart-${name}`}
      data-points={received}
      aria-label={`Traffic of ${name}`}
    >
      <p class="traffic-summary">
        <span>
          <span data-testid={`traffic-rps-${name}`}>{formatRate(rps)}</span> req/s
        </span>
        {last ? (
          <span>
            p50 {formatRate(last.p50Ms)} ms · p99 {formatRate(last.p99Ms)} ms
          </span>
        ) : (
          <span class="muted">no calls yet</span>
        )}
      </p>
      <div class="chart-grid">
        <UPlotChart title="Requests/s" series={RPS} data={[data.x, data.rps]} height={height} />
        <UPlotChart
          title="Latency (ms)"
          series={LATENCY}
          data={[data.x, data.p50, data.p99]}
          height={height}
          unit=" ms"
        />
        <UPlotChart
          title={data.codes.length ? "Errors/s by code" : "Errors/s (none)"}
          series={errorSeries}
          data={[data.x, ...data.codes.map((code) => data.errors[code]!)]}
          height={height}
        />
      </div>
    </section>
  );
}

interface ChartData {
  x: number[];
  rps: (number | null)[];
  p50: (number | null)[];
  p99: (number | null)[];
  codes: string[];
  errors: Record<string, (number | null)[]>;
}

/**
 * Columns for uPlot (x in seconds). The feed has no point for an idle second, so a gap longer
 * than a tick is drawn as zero requests (and no latency) rather than a line across it.
 */
export function chartData(points: readonly TrafficPoint[], now: number): ChartData {
  const codes = [...new Set(points.flatMap((p) => Object.keys(p.errors)))].sort();
  const out: ChartData = { x: [], rps: [], p50: [], p99: [], codes, errors: {} };
  for (const code of codes) out.errors[code] = [];
  const idle = (t: number) => {
    out.x.push(t / 1000);
    out.rps.push(0);
    out.p50.push(null);
    out.p99.push(null);
    for (const code of codes) out.errors[code]!.push(0);
  };
  let previous: number | undefined;
  for (const point of points) {
    if (previous !== undefined && point.t - previous > 2500) {
      idle(previous + 1000);
      if (point.t - 1000 > previous + 1000) idle(point.t - 1000);
    }
    out.x.push(point.t / 1000);
    out.rps.push(point.rps);
    out.p50.push(point.p50Ms);
    out.p99.push(point.p99Ms);
    for (const code of codes) out.errors[code]!.push(point.errors[code] ?? 0);
    previous = point.t;
  }
  if (previous !== undefined && now - previous > 2500) {
    idle(previous + 1000);
    idle(now);
  }
  return out;
}
