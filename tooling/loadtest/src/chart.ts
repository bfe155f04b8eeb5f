import { existsSync } from "node:fs";
import { Resvg } from "@resvg/resvg-js";
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { SecondSample } from "./engine.js";

/** The font charts are drawn with, when the machine has it (Debian: fonts-dejavu-core). */
const FONT_FILE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/**
 * Renders a Vega-Lite spec to PNG: Vega-Lite → Vega → SVG (headless view) → PNG with resvg.
 * Text uses DejaVu Sans when present, else the system's fonts.
 *
 * @example writeFileSync("chart.png", await renderPng({ data: { values }, mark: "line", … }))
 */
export async function renderPng(spec: TopLevelSpec): Promise<Buffer> {
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  const font = existsSync(FONT_FILE)
    ? { loadSystemFonts: false, fontFiles: [FONT_FILE], defaultFontFamily: "DejaVu Sans" }
    : { loadSystemFonts: true };
  const png = new Resvg(svg, { font, background: "white", fitTo: { mode: "zoom", value: 2 } }).render();
  return png.asPng();
}

/** The text style of every chart. */
export const CHART_CONFIG = {
  font: "DejaVu Sans",
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 10, titleFontSize: 11 },
} as const;

/**
 * The load test's chart: p50 and p99 per second per operation (log scale, ms from the scheduled
 * start), and completions per second per operation, over the measured window.
 *
 * @example await renderPng(latencyChart(result.timeline, "mixed"))
 */
export function latencyChart(timeline: readonly SecondSample[], title: string): TopLevelSpec {
  const latency = timeline
    .filter((sample) => sample.completed > 0)
    .flatMap(({ second, operation, p50Ms, p99Ms }) => [
      { second, operation, percentile: "p50", ms: Math.max(p50Ms, 0.001) },
      { second, operation, percentile: "p99", ms: Math.max(p99Ms, 0.001) },
    ]);
  const x = { field: "second", type: "quantitative", title: "seconds into the measured window" } as const;
  const color = { field: "operation", type: "nominal", title: "operation" } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${title}: latency and throughput per second`,
    config: CHART_CONFIG,
    vconcat: [
      {
        width: 760,
        height: 260,
        data: { values: latency },
        mark: { type: "line", strokeWidth: 1.5 },
        encoding: {
          x,
          y: { field: "ms", type: "quantitative", scale: { type: "log" }, title: "latency (ms, log)" },
          color,
          strokeDash: { field: "percentile", type: "nominal", title: "percentile" },
        },
      },
      {
        width: 760,
        height: 160,
        data: {
          values: timeline.map(({ second, operation, completed }) => ({ second, operation, completed })),
        },
        mark: { type: "area" },
        encoding: {
          x,
          y: { field: "completed", type: "quantitative", stack: "zero", title: "completed / s" },
          color,
        },
      },
    ],
    resolve: { scale: { color: "shared" } },
  };
}
