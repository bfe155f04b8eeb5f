import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatRate } from "../format.js";

export interface ChartSeries {
  label: string;
  color: string;
}

export interface UPlotChartProps {
  title: string;
  /** Y series (the x series, time in seconds, is implied); a change of labels makes a new chart. */
  series: ChartSeries[];
  data: uPlot.AlignedData;
  height?: number;
  /** Formats y values in the axis and legend, e.g. `(v) => `${v} ms``. */
  unit?: string;
}

/** One uPlot line chart that takes new data in place and follows its container's width. */
export function UPlotChart({ title, series, data, height = 160, unit = "" }: UPlotChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const latest = useRef(data);
  latest.current = data;
  const seriesKey = series.map((s) => `${s.label}:${s.color}`).join("|");

  useEffect(() => {
    const element = container.current;
    if (!element) return undefined;
    const format = (value: number | null) => (value === null ? "—" : `${formatRate(value)}${unit}`);
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height,
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max)] } },
        axes: [{}, { size: 56, values: (_u, splits) => splits.map((v) => `${formatRate(v)}${unit}`) }],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 1.5,
            spanGaps: false,
            value: (_u: uPlot, v: number | null) => format(v),
          })),
        ],
        legend: { live: true },
      },
      latest.current,
      element,
    );
    plot.current = chart;
    const observer = new ResizeObserver((entries) => {
      const width = Math.floor(entries[0]?.contentRect.width ?? 0);
      if (width > 0 && width !== chart.width) chart.setSize({ width, height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = undefined;
    };
    // The chart is rebuilt only when its series change; data goes in through setData below.
  }, [seriesKey, height, unit]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={container} class="chart-canvas" />
    </figure>
  );
}
