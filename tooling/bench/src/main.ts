/**
 * `pnpm bench kv [--rate N | --records N[,N…] | --shadow | --smoke] [options]`
 * `pnpm bench ts [--backend B,B… | --smoke] [options]`
 * `pnpm bench graph [--backend B,B… | --smoke] [options]`
 * `pnpm bench pii [--calls N]`
 *
 * A benchmark, not a test: it measures the gateway side by side with its ceilings (DESIGN §10),
 * prints a table and one JSON line, and exits 0 whatever the numbers. It exits 1 only when it
 * could not measure (a child failed, or calls failed).
 */
import { availableParallelism } from "node:os";
import { parseMode, USAGE, UsageError } from "./args.js";
import { type GraphBenchOptions, runGraphBench } from "./graph-bench.js";
import {
  formatGraphBackend,
  formatGraphGoals,
  formatGraphHeader,
  formatGraphJson,
  graphFailures,
} from "./graph-report.js";

import { type KvBenchOptions, runKvBench } from "./kv-bench.js";
import { type RateBenchOptions, runRateBench } from "./latency-bench.js";
import { formatRateJson, formatRateReport, rateFailures } from "./latency-report.js";
import { formatPiiBench, runPiiBench } from "./pii-bench.js";
import { RECORD_BACKENDS, type RecordsBenchOptions, runRecordsBench } from "./records-bench.js";
import { formatRecordsJson, formatRecordsReport, recordsFailures } from "./records-report.js";
import { failedCalls, formatJson, formatReport } from "./report.js";
import { runShadowBench, type ShadowBenchOptions, shadowSmokeOptions } from "./shadow-bench.js";
import { formatShadowJson, formatShadowReport, shadowFailures } from "./shadow-report.js";
import { runTsBench, type TsBenchOptions } from "./ts-bench.js";
import { formatTsBackend, formatTsGoals, formatTsHeader, formatTsJson, tsFailures } from "./ts-report.js";
import { formatWorkersJson, formatWorkersReport, runWorkersBench, workersFailures } from "./workers-bench.js";

/** Bounds the whole run: every window plus generous start-up and preload time. */
function giveUpAfter(seconds: number): void {
  setTimeout(() => {
    process.stderr.write(`bench: still running after ${seconds} s; giving up\n`);
    process.exit(1);
  }, seconds * 1000).unref();
}

async function closed(options: KvBenchOptions): Promise<number> {
  const { settings, comparisons } = await runKvBench(options);
  process.stdout.write(formatReport(settings, comparisons));
  process.stdout.write(`${formatJson(settings, comparisons)}\n`);
  return failedCalls(comparisons);
}

async function rate(options: RateBenchOptions): Promise<number> {
  const { settings, targets } = await runRateBench(options);
  process.stdout.write(formatRateReport(settings, targets));
  process.stdout.write(`${formatRateJson(settings, targets)}\n`);
  return rateFailures(targets);
}

async function records(options: RecordsBenchOptions): Promise<number> {
  const { settings, results } = await runRecordsBench(options);
  process.stdout.write(formatRecordsReport(settings, results));
  process.stdout.write(`${formatRecordsJson(settings, results)}\n`);
  return recordsFailures(results);
}

async function shadow(options: ShadowBenchOptions): Promise<number> {
  const { settings, variants, backfill } = await runShadowBench(options);
  process.stdout.write(formatShadowReport(settings, variants, backfill));
  process.stdout.write(`${formatShadowJson(settings, variants, backfill)}\n`);
  return shadowFailures(variants, backfill);
}

async function ts(options: TsBenchOptions): Promise<number> {
  process.stdout.write(`${formatTsHeader({ ...options, cpus: availableParallelism() })}\n`);
  const { settings, results } = await runTsBench(options, (result) =>
    process.stdout.write(`${formatTsBackend(result)}\n`),
  );
  process.stdout.write(formatTsGoals(results));
  process.stdout.write(`${formatTsJson(settings, results)}\n`);
  return tsFailures(results);
}

async function graph(options: GraphBenchOptions): Promise<number> {
  process.stdout.write(`${formatGraphHeader({ ...options, cpus: availableParallelism() })}\n`);
  const { settings, results } = await runGraphBench(options, (result) =>
    process.stdout.write(`${formatGraphBackend(result)}\n`),
  );
  process.stdout.write(formatGraphGoals(results));
  process.stdout.write(`${formatGraphJson(settings, results)}\n`);
  return graphFailures(results);
}

/** Every mode on every target and backend, tiny and short: it must complete and print, nothing more. */
async function smoke(pgUrl: string, natsUrl: string): Promise<number> {
  const shared = { concurrency: 8, channels: 2, client: "h2" as const, pgUrl, pgPoolSize: 4 };
  let failed = await closed({
    ...shared,
    backend: "memory",
    records: 100,
    valueBytes: 100,
    rounds: 1,
    durationS: 1,
    warmupS: 0.5,
    auth: true,
    telemetry: true,
  });
  process.stdout.write("\n");
  failed += await shadow(shadowSmokeOptions(pgUrl, natsUrl));
  process.stdout.write("\n");
  process.stdout.write(formatPiiBench({ calls: 100 }, await runPiiBench({ calls: 100 })));
  process.stdout.write("\n");
  failed += await rate({
    ...shared,
    rate: 200,
    records: 100,
    valueBytes: 1024,
    rounds: 1,
    durationS: 1,
    warmupS: 0.5,
    postgres: true,
    loopResolutionMs: 2,
    primeMs: 300,
  });
  for (const backend of RECORD_BACKENDS) {
    process.stdout.write("\n");
    failed += await records({
      ...shared,
      backend,
      counts: [100, 1000],
      valueBytes: 100,
      rate: 200,
      durationS: 1,
      warmupS: 0.5,
      reload: false,
      natsUrl,
      primeMs: 300,
    });
  }
  return failed;
}

async function main(): Promise<number> {
  const mode = parseMode(process.argv.slice(2));
  let failed: number;
  switch (mode.kind) {
    case "closed": {
      const o = mode.options;
      const pairs = (o.backend === "postgres" ? 2 : 1) + (o.compiled ? 1 : 0);
      giveUpAfter(pairs * 2 * o.rounds * (o.warmupS + o.durationS) + (o.compiled ? 600 : 180));
      failed = await closed(o);
      break;
    }
    case "rate": {
      const o = mode.options;
      giveUpAfter((o.postgres ? 4 : 2) * o.rounds * (o.warmupS + o.durationS + 30) + 180);
      failed = await rate(o);
      break;
    }
    case "records": {
      const o = mode.options;
      const total = o.counts.reduce((a, b) => a + b, 0);
      // Loading through the gateway can be slow on a small machine: allow 500 records/s.
      giveUpAfter(o.counts.length * (o.warmupS + o.durationS + 60) + total / 500 + 180);
      failed = await records(o);
      break;
    }
    case "shadow": {
      const o = mode.options;
      // Three gateways × Put and Get per round, each Put followed by a drain; the backfill at ≥ 200 records/s.
      giveUpAfter(3 * 2 * o.rounds * (o.warmupS + o.durationS + 10) + o.backfillRecords / 200 + 240);
      failed = await shadow(o);
      break;
    }
    case "ts": {
      const o = mode.options;
      const windows = 2 * o.batches.length + 2;
      giveUpAfter(o.backends.length * (windows * (o.warmupS + o.durationS + 20) + 90) + 60);
      failed = await ts(o);
      break;
    }
    case "graph": {
      const o = mode.options;
      // Loading through the gateway and directly: allow 1,000 edges/s on neptune, 5,000 elsewhere.
      const loadS = o.backends.reduce(
        (sum, b) => sum + (b === "neptune" ? (2 * o.neptuneEdges) / 1000 : (2 * o.edges) / 5000),
        0,
      );
      giveUpAfter(o.backends.length * (4 * (o.warmupS + o.durationS + 30) + 60) + loadS + 60);
      failed = await graph(o);
      break;
    }
    case "pii": {
      giveUpAfter(300);
      process.stdout.write(formatPiiBench(mode.options, await runPiiBench(mode.options)));
      failed = 0;
      break;
    }
    case "workers": {
      const o = mode.options;
      giveUpAfter(o.workers.length * (o.rounds * (o.warmupS + o.durationS) + 120) + 60);
      const results = await runWorkersBench(o);
      process.stdout.write(formatWorkersReport(o, results));
      process.stdout.write(`${formatWorkersJson(o, results)}\n`);
      failed = workersFailures(results);
      break;
    }
    case "smoke":
      giveUpAfter(600);
      failed = await smoke(mode.pgUrl, mode.natsUrl);
      break;
  }
  if (failed > 0) {
    process.stderr.write(`bench: ${failed} calls failed; the numbers above are not a valid measurement\n`);
    return 1;
  }
  return 0;
}

// The exit hook in child.ts kills any child still running on every one of these paths.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message ? `${error.message}\n` : ""}${USAGE}`);
      process.exit(error.message ? 2 : 0);
    }
    process.stderr.write(`bench failed: ${(error as Error).message}\n`);
    if (process.argv.some((a) => /postgres|nats|kafka|neptune|rate|smoke|shadow|^ts$|^graph$/.test(a))) {
      process.stderr.write(
        "  postgres and NATS need the drivers registered in gateway/src/drivers.ts and running servers\n" +
          "  (pnpm stack up, or PRISM_TEST_POSTGRES_URL / PRISM_TEST_NATS_URL)\n",
      );
    }
    process.exit(1);
  },
);
