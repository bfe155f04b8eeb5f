import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type Comparable, compareToBaseline, formatComparison, readBaseline } from "./baseline.js";
import { latencyChart, renderPng } from "./chart.js";
import { REPO_ROOT } from "./gateway-process.js";
import { formatResult } from "./result.js";
import { runScenario, withTarget } from "./run-scenario.js";
import { loadScenario, type Scenario, ScenarioError } from "./scenario.js";

const USAGE = `usage: pnpm loadtest SCENARIO.yaml [--out DIR] [--baseline FILE.json] [--tolerance 0.25]

Drives the scenario's open-loop mix against a gateway (spawned on free ports unless the scenario
gives an address), then writes result.json and latency.png to --out (default
.stack/loadtest/<scenario name>/) and prints a table.
  --baseline FILE   compare p99 and throughput per operation with an earlier result.json:
                    exit 1 on a regression beyond the tolerance (scenario's, or --tolerance)
exit codes: 0 ok, 1 regression against the baseline, 2 bad input, 3 the run failed`;

/** Bad input: printed with the usage hint, exit 2. */
class UsageError extends Error {}

interface Invocation {
  scenario: Scenario;
  outDir: string;
  baseline?: { file: string; result: Comparable };
  tolerance: number;
}

function parseInvocation(argv: string[]): Invocation {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError("expected exactly one SCENARIO.yaml");
  const scenario = loadScenario(positionals[0]!);
  let tolerance = scenario.tolerance;
  if (values.tolerance !== undefined) {
    tolerance = Number(values.tolerance);
    if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > 10)
      throw new UsageError(`--tolerance ${values.tolerance}: expected a number from 0 to 10 (0.25 = 25 %)`);
  }
  let baseline: Invocation["baseline"];
  if (values.baseline) {
    try {
      baseline = { file: values.baseline, result: readBaseline(values.baseline) };
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const outDir = resolve(values.out ?? join(REPO_ROOT, ".stack/loadtest", scenario.name));
  return { scenario, outDir, tolerance, ...(baseline && { baseline }) };
}

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      baseline: { type: "string" },
      tolerance: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2).filter((arg) => arg !== "--");
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let invocation: Invocation;
  try {
    invocation = parseInvocation(argv);
  } catch (error) {
    if (error instanceof ScenarioError || error instanceof UsageError) {
      process.stderr.write(`loadtest: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  const { scenario, outDir, baseline, tolerance } = invocation;
  process.stderr.write(
    `loadtest ${scenario.name}: ${scenario.rate}/s for ${scenario.durationSeconds} s (+${scenario.warmupSeconds} s warm-up)\n`,
  );
  const result = await withTarget(scenario.target, (address) =>
    runScenario(scenario, address, {
      onStart: () => process.stderr.write(`preloaded; measuring against ${address}\n`),
    }),
  );
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "result.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, "latency.png"), await renderPng(latencyChart(result.timeline, scenario.name)));
  process.stdout.write(formatResult(result));
  process.stdout.write(`\nwrote ${join(outDir, "result.json")} and latency.png\n`);
  if (!baseline) return 0;
  const comparisons = compareToBaseline(result, baseline.result, tolerance);
  process.stdout.write(`\n${formatComparison(comparisons, tolerance, baseline.file)}`);
  return comparisons.some((comparison) => comparison.regressions.length > 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`loadtest failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(3);
  },
);
