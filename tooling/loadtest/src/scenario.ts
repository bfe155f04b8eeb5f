import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/** A scenario that cannot run, with every problem found (each prefixed by its path). */
export class ScenarioError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid scenario:\n  - ${problems.join("\n  - ")}`);
    this.name = "ScenarioError";
  }
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const namespace = (fallback: string) => z.string().min(1).max(128).default(fallback);
/** What every operation has: a weight in the mix and an optional distinct name (default: `op`). */
const common = {
  weight: z.number().positive().max(1000).default(1),
  name: z.string().min(1).max(64).optional(),
};
const kv = {
  ...common,
  namespace: namespace("demo-kv"),
  /** Records the operation spreads over (`lt-0` … `lt-<keys−1>`); reads find them preloaded. */
  keys: int(1, 1_000_000).default(1000),
  valueBytes: int(0, 1 << 20).default(128),
};
const ts = {
  ...common,
  namespace: namespace("demo-ts"),
  /** Series the operation spreads over. */
  series: int(1, 10_000).default(10),
  payloadBytes: int(0, 64 << 10).default(64),
};
const graph = {
  ...common,
  namespace: namespace("demo-graph"),
  /** Nodes of the preloaded graph (`lt-n0` …), each with `edgesPerNode` outgoing edges. */
  nodes: int(2, 100_000).default(200),
  edgesPerNode: int(1, 50).default(4),
};

const operationSchema = z.discriminatedUnion("op", [
  z.strictObject({ op: z.literal("kv.put"), ...kv }),
  z.strictObject({ op: z.literal("kv.get"), ...kv }),
  /** Streams `records` records of a Scan from the start, then cancels it. */
  z.strictObject({ op: z.literal("kv.scan"), ...kv, records: int(1, 10_000).default(20) }),
  z.strictObject({ op: z.literal("ts.write"), ...ts, batchSize: int(1, 1000).default(10) }),
  /** Reads one page of the last `windowSeconds` of a series. */
  z.strictObject({
    op: z.literal("ts.read"),
    ...ts,
    windowSeconds: int(1, 86_400).default(60),
    pageSizeEvents: int(1, 10_000).default(100),
  }),
  /** Upserts `batchSize` nodes (or edges between existing nodes) of the preloaded graph. */
  z.strictObject({
    op: z.literal("graph.upsert"),
    ...graph,
    kind: z.enum(["nodes", "edges"]).default("nodes"),
    batchSize: int(1, 1000).default(1),
  }),
  z.strictObject({ op: z.literal("graph.neighbors"), ...graph, pageSize: int(1, 10_000).default(50) }),
  z.strictObject({
    op: z.literal("graph.traverse"),
    ...graph,
    depth: int(1, 10).default(2),
    limit: int(1, 100_000).default(100),
  }),
]);

const targetSchema = z.union([
  z.strictObject({ address: z.string().regex(/^[^\s:]+:\d{1,5}$/, "expected host:port") }),
  z.strictObject({
    /** Spawn a gateway on free ports: `{}` = the embedded default, or `{ config: FILE }`. */
    gateway: z.strictObject({ config: z.string().min(1).optional() }).default({}),
  }),
]);

export const scenarioSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "letters, digits, '.', '_' and '-' (at most 64)"),
  description: z.string().max(1000).optional(),
  target: targetSchema.default({ gateway: {} }),
  durationSeconds: z.number().positive().max(86_400),
  warmupSeconds: z.number().min(0).max(3600).default(2),
  /** Total offered requests per second over every operation (open loop). */
  rate: z.number().positive().max(50_000),
  connections: int(1, 64).default(2),
  /** Requests in flight at most; a request due beyond it is not issued (and counted). */
  maxInFlight: int(1, 100_000).default(512),
  /** Allowed relative regression against a baseline (p99 up, throughput down). */
  tolerance: z.number().min(0).max(10).default(0.25),
  /** Seed of the operation mix and key choice: the same seed gives the same sequence. */
  seed: int(0, 2 ** 31 - 1).default(1),
  operations: z.array(operationSchema).min(1).max(32),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type OperationSpec = Scenario["operations"][number];
export type Target = Scenario["target"];

/**
 * Validates a parsed scenario: every schema problem at once, then cross-field checks (names of
 * operations unique). A `gateway.config` path is resolved against `baseDir`.
 *
 * @example const scenario = validateScenario(parseYaml(text), dirname(file))
 */
export function validateScenario(input: unknown, baseDir = process.cwd()): Scenario {
  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) throw new ScenarioError(parsed.error.issues.map(formatIssue));
  const scenario = parsed.data;
  const problems: string[] = [];
  const seen = new Set<string>();
  scenario.operations.forEach((operation, i) => {
    const name = operationName(operation);
    if (seen.has(name))
      problems.push(`operations.${i}.name: duplicate operation name ${name} (give each a distinct name)`);
    seen.add(name);
  });
  if (problems.length > 0) throw new ScenarioError(problems);
  if ("gateway" in scenario.target && scenario.target.gateway.config)
    scenario.target.gateway.config = resolve(baseDir, scenario.target.gateway.config);
  return scenario;
}

/**
 * Reads and validates a scenario YAML file.
 *
 * @example const scenario = loadScenario("tooling/loadtest/scenarios/smoke.yaml")
 */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ScenarioError([`${file}: ${(error as Error).message}`]);
  }
  let input: unknown;
  try {
    input = parseYaml(text);
  } catch (error) {
    throw new ScenarioError([`${file}: ${(error as Error).message}`]);
  }
  return validateScenario(input, dirname(resolve(file)));
}

/**
 * The name an operation reports under: its `name`, or its `op`.
 *
 * @example operationName({ op: "kv.get", ... }) // "kv.get"
 */
export function operationName(operation: OperationSpec): string {
  return operation.name ?? operation.op;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.join(".") : "(scenario)";
  if (issue.code === "invalid_union" && issue.errors.length === 0)
    return `${path}: expected one of kv.put, kv.get, kv.scan, ts.write, ts.read, graph.upsert, graph.neighbors, graph.traverse`;
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    // A target that matches neither form: say what each would need.
    return `${path}: expected { address: host:port } or { gateway: { config?: FILE } }`;
  }
  return `${path}: ${issue.message}`;
}
