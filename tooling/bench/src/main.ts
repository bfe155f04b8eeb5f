/**
 * `pnpm bench kv [--backend memory|postgres] [--duration 10] [--concurrency 32] [--warmup 3] …`
 *
 * A benchmark, not a test: it measures the gateway side by side with its ceilings (DESIGN §10),
 * prints a table and one JSON line, and exits 0 whatever the numbers. It exits 1 only when it
 * could not measure (a child failed, or calls failed).
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { type KvBenchOptions, runKvBench } from "./kv-bench.js";
import { failedCalls, formatJson, formatReport } from "./report.js";

const USAGE = `usage: pnpm bench kv [options]
  --backend memory|postgres  postgres adds gateway-on-postgres vs direct pg (default memory)
  --duration S               measured seconds per target per round (default 10)
  --warmup S                 unrecorded seconds before each measured window (default 3)
  --concurrency N            calls kept in flight (default 32)
  --channels N               HTTP/2 connections the calls spread over (default 4)
  --client h2|grpc-js        load client: bare node:http2 gRPC (lean, default) or @grpc/grpc-js
  --rounds N                 measured windows per target, alternating order (default 3)
  --records N                record ids (default 1000), one 100-byte item each (--value-bytes)
  --pg-pool N                connections of the gateway's postgres backend and of direct pg (default 10)
  --cpu-prof DIR             write V8 CPU profiles of the children into DIR/gateway and DIR/bare
env: PRISM_TEST_POSTGRES_URL (default postgres://prism:prism@127.0.0.1:15432/prism; start it with pnpm stack up postgres)
`;

const DEFAULT_PG_URL = "postgres://prism:prism@127.0.0.1:15432/prism";

/** Parses and bounds the command line; throws a usage error listing every bad option. */
function parseOptions(argv: string[]): KvBenchOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      backend: { type: "string", default: "memory" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      concurrency: { type: "string", default: "32" },
      channels: { type: "string", default: "4" },
      client: { type: "string", default: "h2" },
      rounds: { type: "string", default: "3" },
      records: { type: "string", default: "1000" },
      "value-bytes": { type: "string", default: "100" },
      "pg-pool": { type: "string", default: "10" },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new UsageError("");
  const problems: string[] = [];
  if (positionals.length !== 1 || positionals[0] !== "kv") problems.push("the only benchmark is kv");
  if (values.backend !== "memory" && values.backend !== "postgres")
    problems.push("--backend: memory or postgres");
  if (values.client !== "h2" && values.client !== "grpc-js") problems.push("--client: h2 or grpc-js");
  const int = (name: keyof typeof values, min: number, max: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max)
      problems.push(`--${name}: an integer from ${min} to ${max}`);
    return n;
  };
  const options: KvBenchOptions = {
    backend: values.backend as KvBenchOptions["backend"],
    durationS: int("duration", 1, 600),
    warmupS: int("warmup", 0, 120),
    concurrency: int("concurrency", 1, 10_000),
    channels: int("channels", 1, 64),
    rounds: int("rounds", 1, 20),
    client: values.client as KvBenchOptions["client"],
    records: int("records", 1, 1_000_000),
    valueBytes: int("value-bytes", 0, 1 << 20),
    pgPoolSize: int("pg-pool", 1, 1000),
    pgUrl: process.env.PRISM_TEST_POSTGRES_URL || DEFAULT_PG_URL,
    ...(values["cpu-prof"] ? { cpuProfileDir: resolve(values["cpu-prof"]) } : {}),
  };
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  return options;
}

class UsageError extends Error {}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  // Bounded in time whatever happens: every window, plus generous start-up and preload time.
  const pairs = options.backend === "postgres" ? 2 : 1;
  const budgetMs = (pairs * 2 * options.rounds * (options.warmupS + options.durationS) + 180) * 1000;
  setTimeout(() => {
    process.stderr.write(`bench: still running after ${budgetMs / 1000} s; giving up\n`);
    process.exit(1);
  }, budgetMs).unref();

  const { settings, comparisons } = await runKvBench(options);
  process.stdout.write(formatReport(settings, comparisons));
  process.stdout.write(`${formatJson(settings, comparisons)}\n`);
  const failed = failedCalls(comparisons);
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
    const postgres = process.argv.includes("postgres");
    process.stderr.write(`bench failed: ${(error as Error).message}\n`);
    if (postgres) {
      process.stderr.write(
        "  postgres mode needs the postgres driver registered in gateway/src/drivers.ts and a running\n" +
          "  database (pnpm stack up postgres, or PRISM_TEST_POSTGRES_URL)\n",
      );
    }
    process.exit(1);
  },
);
