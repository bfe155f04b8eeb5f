import { readFileSync } from "node:fs";
import { z } from "zod";
import { table } from "./result.js";

/** The part of a result.json a comparison reads. */
const baselineSchema = z.object({
  scenario: z.string(),
  operations: z.record(
    z.string(),
    z.object({ throughput: z.number().min(0), latencyMs: z.object({ p99: z.number().min(0) }) }),
  ),
});

export type Comparable = z.infer<typeof baselineSchema>;

/** One operation's p99 and throughput against the baseline. */
export interface Comparison {
  operation: string;
  baseP99: number | undefined;
  p99: number | undefined;
  baseThroughput: number | undefined;
  throughput: number | undefined;
  /** Why this operation regressed; empty when it did not. */
  regressions: string[];
}

/**
 * Reads a baseline result.json; throws with a clear message when it is not one.
 *
 * @example const baseline = readBaseline(".stack/loadtest/mixed/result.json")
 */
export function readBaseline(file: string): Comparable {
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`baseline ${file}: ${(error as Error).message}`);
  }
  const parsed = baselineSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`baseline ${file} is not a loadtest result.json:\n  - ${problems.join("\n  - ")}`);
  }
  return parsed.data;
}

/**
 * Compares every operation of the baseline with the current result: a regression is a p99 above
 * `base × (1 + tolerance)`, a throughput below `base × (1 − tolerance)`, or an operation that
 * the current run no longer has. Operations new in the current run are listed, never regressions.
 *
 * @example compareToBaseline(result, readBaseline(file), 0.25).some((c) => c.regressions.length > 0)
 */
export function compareToBaseline(
  current: Comparable,
  baseline: Comparable,
  tolerance: number,
): Comparison[] {
  const names = [...new Set([...Object.keys(baseline.operations), ...Object.keys(current.operations)])];
  return names.map((operation) => {
    const base = baseline.operations[operation];
    const now = current.operations[operation];
    const regressions: string[] = [];
    if (base && !now) regressions.push("missing from this run");
    if (base && now) {
      const p99Bound = base.latencyMs.p99 * (1 + tolerance);
      if (now.latencyMs.p99 > p99Bound)
        regressions.push(`p99 ${now.latencyMs.p99} ms > ${round(p99Bound)} ms`);
      const throughputBound = base.throughput * (1 - tolerance);
      if (now.throughput < throughputBound)
        regressions.push(`throughput ${now.throughput}/s < ${round(throughputBound)}/s`);
    }
    return {
      operation,
      baseP99: base?.latencyMs.p99,
      p99: now?.latencyMs.p99,
      baseThroughput: base?.throughput,
      throughput: now?.throughput,
      regressions,
    };
  });
}

/**
 * The comparison as a table, then a verdict line.
 *
 * @example process.stdout.write(formatComparison(comparisons, 0.25, "baseline.json"))
 */
export function formatComparison(
  comparisons: readonly Comparison[],
  tolerance: number,
  file: string,
): string {
  const show = (value: number | undefined) => (value === undefined ? "-" : String(value));
  const change = (now: number | undefined, base: number | undefined) =>
    now === undefined || base === undefined || base === 0
      ? "-"
      : `${now >= base ? "+" : ""}${round(((now - base) / base) * 100)}%`;
  const rows = comparisons.map((c) => [
    c.operation,
    show(c.baseP99),
    show(c.p99),
    change(c.p99, c.baseP99),
    show(c.baseThroughput),
    show(c.throughput),
    change(c.throughput, c.baseThroughput),
    c.regressions.length > 0 ? `REGRESSION: ${c.regressions.join("; ")}` : "ok",
  ]);
  const regressed = comparisons.filter((c) => c.regressions.length > 0).length;
  return [
    `compared with ${file} (tolerance ${round(tolerance * 100)}%)`,
    table([["operation", "base p99", "p99", "Δ", "base ok/s", "ok/s", "Δ", "verdict"], ...rows]),
    regressed === 0 ? "no regression" : `${regressed} operation(s) regressed`,
    "",
  ].join("\n");
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
