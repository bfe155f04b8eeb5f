import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { renderPng } from "./chart.js";
import { REPO_ROOT } from "./gateway-process.js";
import { runSoak, type SoakOptions } from "./soak.js";
import { DEFAULT_BOUNDS, formatSoakReport, soakChart } from "./soak-report.js";
import type { SoakSample } from "./soak-sampler.js";

const USAGE = `usage: pnpm soak [--minutes 10] [--rate 300] [--check] [--out DIR] [options]

Spawns a gateway (embedded default, or --config FILE) on free ports, drives a mixed
KeyValue/TimeSeries/Graph load at a fixed rate, and samples the gateway's RSS, heap and
event-loop lag and the client's p99. Writes soak.json and soak.png to --out (default .stack/soak/),
and fits slopes after the warm-up share: RSS and heap by least squares through their floor (lowest
sample per block of a fifth of the fitted span, at most 2 min); p99 by Theil-Sen over every
sample, failing only when it is above its bound with a 95% interval above zero.
  --minutes N            how long (fractions allowed: 0.5 = 30 s; default 10)
  --rate R               requests/s over the mix (default 300)
  --sample-seconds S     between samples (default 5, fewer for short runs)
  --warmup-share F       share of the run left out of the fits (default 0.2)
  --max-rss-slope M      MiB/min (default ${DEFAULT_BOUNDS.rssMiBPerMin})
  --max-heap-slope M     MiB/min (default ${DEFAULT_BOUNDS.heapMiBPerMin})
  --max-p99-slope M      ms/min (default ${DEFAULT_BOUNDS.p99MsPerMin})
  --max-error-rate F     failed/all requests (default ${DEFAULT_BOUNDS.errorRate})
  --check                exit 1 when a slope exceeds its bound (or too many requests failed)
exit codes: 0 ok, 1 --check failed, 2 bad input, 3 the run failed`;

class UsageError extends Error {}

function number(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new UsageError(`--${flag} ${text}: expected a number from ${min} to ${max}`);
  return value;
}

function parseOptions(argv: string[]): SoakOptions & { out: string; check: boolean } {
  let values: Record<string, string | boolean | undefined>;
  try {
    const string = { type: "string" } as const;
    ({ values } = parseArgs({
      args: argv,
      options: {
        minutes: string,
        rate: string,
        "sample-seconds": string,
        "warmup-share": string,
        "max-rss-slope": string,
        "max-heap-slope": string,
        "max-p99-slope": string,
        "max-error-rate": string,
        config: string,
        out: string,
        check: { type: "boolean" },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const text = (name: string) => values[name] as string | undefined;
  const minutes = number("minutes", text("minutes"), 10, 0.05, 24 * 60);
  const defaultSample = Math.min(5, Math.max(1, (minutes * 60) / 20));
  return {
    minutes,
    rate: number("rate", text("rate"), 300, 1, 50_000),
    sampleSeconds: number("sample-seconds", text("sample-seconds"), defaultSample, 0.5, 600),
    warmupShare: number("warmup-share", text("warmup-share"), 0.2, 0, 0.9),
    bounds: {
      rssMiBPerMin: number("max-rss-slope", text("max-rss-slope"), DEFAULT_BOUNDS.rssMiBPerMin, -1e6, 1e6),
      heapMiBPerMin: number(
        "max-heap-slope",
        text("max-heap-slope"),
        DEFAULT_BOUNDS.heapMiBPerMin,
        -1e6,
        1e6,
      ),
      p99MsPerMin: number("max-p99-slope", text("max-p99-slope"), DEFAULT_BOUNDS.p99MsPerMin, -1e6, 1e6),
      errorRate: number("max-error-rate", text("max-error-rate"), DEFAULT_BOUNDS.errorRate, 0, 1),
    },
    ...(text("config") && { config: resolve(text("config")!) }),
    out: resolve(text("out") ?? join(REPO_ROOT, ".stack/soak")),
    check: values.check === true,
  };
}

/** A progress line per sample on a terminal (overwritten), else about every 30 s. */
function progress(sample: SoakSample, options: SoakOptions): void {
  const clock = (seconds: number) =>
    `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, "0")}`;
  const line = `soak ${clock(sample.t)} / ${clock(options.minutes * 60)}  ${sample.okRate}/s ok of ${options.rate}/s  RSS ${sample.rssMiB ?? "n/a"} MiB  heap ${sample.heapUsedMiB ?? "n/a"} MiB  lag p99 ${sample.lagP99Ms ?? "n/a"} ms  p99 ${sample.p99Ms ?? "n/a"} ms${sample.errors > 0 ? `  errors ${sample.errors}` : ""}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`);
  else if (
    Math.floor(sample.t / 30) !== Math.floor((sample.t - options.sampleSeconds) / 30) ||
    options.minutes <= 2
  )
    process.stderr.write(`${line}\n`);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2).filter((arg) => arg !== "--");
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`soak: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  process.stderr.write(
    `soak: ${options.minutes} min at ${options.rate}/s, a sample every ${options.sampleSeconds} s\n`,
  );
  const report = await runSoak({ ...options, onSample: progress, signal: abort.signal });
  if (process.stderr.isTTY) process.stderr.write("\n");
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, "soak.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(options.out, "soak.png"), await renderPng(soakChart(report)));
  process.stdout.write(formatSoakReport(report));
  process.stdout.write(`wrote ${join(options.out, "soak.json")} and soak.png\n`);
  return options.check && report.failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(3);
  },
);
