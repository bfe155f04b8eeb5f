import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { DRIVERS } from "@prism/gateway";
import type { GraphBenchOptions } from "./graph-bench.js";
import { maxEdges } from "./graph-data.js";
import { GRAPH_BACKENDS, type GraphBackendName, graphBackendsOf } from "./graph-stores.js";
import type { KvBenchOptions } from "./kv-bench.js";
import type { RateBenchOptions } from "./latency-bench.js";
import type { PiiBenchOptions } from "./pii-bench.js";
import { RECORD_BACKENDS, type RecordBackend, type RecordsBenchOptions } from "./records-bench.js";
import { type ShadowBenchOptions, shadowSmokeOptions } from "./shadow-bench.js";
import type { TsBenchOptions } from "./ts-bench.js";
import { TS_BACKENDS, type TsBackend } from "./ts-stores.js";
import type { WorkersBenchOptions } from "./workers-bench.js";

export const USAGE = `usage: pnpm bench kv [options]                 closed loop: throughput at saturation
       pnpm bench kv --rate N [options]        open loop: latency at N calls/s, four targets
       pnpm bench kv --records N[,N…] --backend memory|sqlite|postgres|nats [options]
                                               Get latency by namespace size
       pnpm bench kv --smoke                   every mode, tiny and short (CI)
  --auth                     closed loop: also the gateway with auth.mode oidc (a bearer token on every
                             call) against the gateway without auth; prints the ratio (goal 0.9)
  --telemetry                closed loop: also the gateway with metrics on and tracing at 1% (exporting
                             to an OTLP receiver in the bench) against both off; prints the ratio (goal 0.9)
  --shadow                   instead: Put and Get through three fresh gateways on one primary (no shadow,
                             dual-write, shadow-read at sample rate 1): p50/p99, req/s, ratio and added
                             p99 vs no shadow (goal for dual-write: p99 +≤ 0.5 ms, ≥ 0.9×), shadow counters;
                             then a backfill of --backfill-records records into the shadow (rows/s, MB/s).
                             --backend postgres (default: PostgreSQL primary, NATS shadow) or memory;
                             with --rate N, an open loop at N calls/s instead of the closed loop
  --compiled                 closed loop: also the compiled gateway (pnpm build, deploy/build-app.ts's
                             runtime, plain node) against the gateway under tsx: req/s, CPU, peak RSS
  --backfill-records N       --shadow: records the backfill copies (default 20,000)
  --workers N[,N…]           instead: the closed loop against gateways of N worker processes each
                             (ADR-0028), e.g. 1,2: req/s, p50/p99, cores used; --backend sqlite
                             (default) or postgres
  --backend B                closed loop: memory, or postgres (adds gateway-on-postgres vs direct pg);
                             --rate: postgres (default, all four targets) or memory (bare and gateway only);
                             --records: memory (default), sqlite, postgres or nats
  --rate N                   calls/s scheduled (open loop); --records: the rate of its Gets (default 1000)
  --duration S               measured seconds per target per round (default 10; --rate 15)
  --warmup S                 unrecorded seconds before each measured window (default 3; --records 2)
  --concurrency N            calls in flight (closed loop) or most in flight (open loop) (default 32)
  --channels N               HTTP/2 connections the calls spread over (default 4)
  --client h2|grpc-js        load client: bare node:http2 gRPC (lean, default) or @grpc/grpc-js
  --rounds N                 measured windows per target, alternating order (default 3; --rate 2)
  --ids N                    record ids read (default 1000) by the closed and open loops
  --value-bytes N            bytes of each record's one value (default 100; --rate 1024)
  --loop-resolution MS       --rate: event-loop delay sampling interval in the servers (default 2)
  --reload                   --records: write the records again even if postgres/NATS holds them
  --pg-pool N                connections of the gateway's postgres backend and of direct pg (default 10)
  --bundled                  --rate: run the gateway and the bare server bundled by esbuild with
                             plain node, no tsx loader (a prototype to measure tsx's cost)
  --cpu-prof DIR             write V8 CPU profiles of the children into DIR/gateway and DIR/bare
                             (ts: of each backend's gateway into DIR/<backend>)

       pnpm bench ts [options]                 TimeSeries: write throughput and Read latency per backend,
                                               the gateway vs the backend's own client in the bench process
       pnpm bench ts --smoke                   every backend, tiny and short (CI)
  --backend B[,B…]           memory, sqlite, postgres, nats, kafka (default: every one registered
                             in gateway/src/drivers.ts)
  --duration S               measured seconds per target per phase (default 10)
  --warmup S                 unrecorded seconds before each measured window (default 2)
  --writers N                closed-loop writers, each on a series of its own (default 4)
  --batch N[,N…]             events per Write (default 100,1000)
  --payload-bytes N          bytes of each event's payload (default 100)

       pnpm bench graph [options]              Graph: 1-hop Neighbors and 2-hop Traverse latency at low load
                                               per backend, the gateway vs the backend's driver in the bench process
       pnpm bench graph --smoke                every backend, a tiny graph, short windows (CI)
  --backend B[,B…]           memory, sqlite, postgres, neptune (default: every one registered
                             in gateway/src/drivers.ts)
  --nodes N --edges M        the generated graph (default 10,000 / 100,000; neptune 2,000 / 10,000)
  --full                     neptune on the same graph as the others (its load takes minutes)
  --rate N                   calls/s of the open loop: low load (default 50)
  --duration S               measured seconds per target per query (default 10)
  --warmup S                 unrecorded seconds before each measured window (default 2)
  --warm-calls N             calls each target serves back to back before its open loop, so
                             both run warm (JIT-compiled) code (default 2000)
  --cpu-prof DIR             write V8 CPU profiles of each backend's gateway into DIR/<backend>
       pnpm bench pii [--calls N]              what a schema namespace's PII handling (decode, mask, seal,
                                               audit) costs per call, in-process, on the acme model (default 2,000)

env: PRISM_TEST_POSTGRES_URL (default postgres://prism:prism@127.0.0.1:15432/prism),
     PRISM_TEST_NATS_URL (default nats://127.0.0.1:14222),
     PRISM_TEST_KAFKA_BROKERS (default 127.0.0.1:19092),
     PRISM_TEST_GREMLIN_URL (default ws://127.0.0.1:18182/gremlin); start them with pnpm stack up
`;

const DEFAULT_PG_URL = "postgres://prism:prism@127.0.0.1:15432/prism";
const DEFAULT_NATS_URL = "nats://127.0.0.1:14222";
const DEFAULT_KAFKA_BROKERS = "127.0.0.1:19092";
const DEFAULT_GREMLIN_URL = "ws://127.0.0.1:18182/gremlin";

export type Mode =
  | { kind: "closed"; options: KvBenchOptions }
  | { kind: "rate"; options: RateBenchOptions }
  | { kind: "records"; options: RecordsBenchOptions }
  | { kind: "shadow"; options: ShadowBenchOptions }
  | { kind: "smoke"; pgUrl: string; natsUrl: string }
  | { kind: "ts"; options: TsBenchOptions }
  | { kind: "graph"; options: GraphBenchOptions }
  | { kind: "pii"; options: PiiBenchOptions }
  | { kind: "workers"; options: WorkersBenchOptions };

/** Parses and bounds the command line; throws a usage error listing every bad option. */
export function parseMode(argv: string[]): Mode {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      backend: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      calls: { type: "string" },
      "warm-calls": { type: "string" },
      concurrency: { type: "string", default: "32" },
      channels: { type: "string", default: "4" },
      client: { type: "string", default: "h2" },
      rounds: { type: "string" },
      rate: { type: "string" },
      records: { type: "string" },
      ids: { type: "string", default: "1000" },
      "value-bytes": { type: "string" },
      "loop-resolution": { type: "string", default: "2" },
      reload: { type: "boolean", default: false },
      "pg-pool": { type: "string", default: "10" },
      "cpu-prof": { type: "string" },
      bundled: { type: "boolean" },
      compiled: { type: "boolean", default: false },
      auth: { type: "boolean", default: false },
      telemetry: { type: "boolean", default: false },
      shadow: { type: "boolean", default: false },
      "backfill-records": { type: "string" },
      workers: { type: "string" },
      smoke: { type: "boolean", default: false },
      writers: { type: "string" },
      batch: { type: "string" },
      "payload-bytes": { type: "string" },
      nodes: { type: "string" },
      edges: { type: "string" },
      full: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new UsageError("");
  const problems: string[] = [];
  const pgUrl = process.env.PRISM_TEST_POSTGRES_URL || DEFAULT_PG_URL;
  const natsUrl = process.env.PRISM_TEST_NATS_URL || DEFAULT_NATS_URL;
  if (positionals.length !== 1 || !["kv", "ts", "graph", "pii"].includes(positionals[0]!)) {
    problems.push("the benchmarks are kv, ts, graph and pii");
  }
  if (values.client !== "h2" && values.client !== "grpc-js") problems.push("--client: h2 or grpc-js");
  const int = (name: keyof typeof values, fallback: string, min: number, max: number): number => {
    const n = Number(values[name] ?? fallback);
    if (!Number.isInteger(n) || n < min || n > max)
      problems.push(`--${name}: an integer from ${min} to ${max}`);
    return n;
  };
  const done = <M extends Mode>(mode: M): M => {
    if (problems.length > 0) throw new UsageError(problems.join("\n"));
    return mode;
  };
  if (positionals[0] === "graph") return done({ kind: "graph", options: graphOptions(values, pgUrl, int) });
  if (positionals[0] === "pii") {
    return done({
      kind: "pii",
      options: { calls: values.smoke ? 100 : int("calls", "2000", 10, 1_000_000) },
    });
  }
  if (positionals[0] === "ts") {
    const endpoints = {
      pgUrl,
      natsUrl,
      kafkaBrokers: process.env.PRISM_TEST_KAFKA_BROKERS || DEFAULT_KAFKA_BROKERS,
    };
    const backends = (values.backend?.split(",") ?? registeredTsBackends()) as TsBackend[];
    if (backends.length === 0 || backends.some((b) => !TS_BACKENDS.includes(b))) {
      problems.push(`--backend: comma-separated, of ${TS_BACKENDS.join(", ")}`);
    }
    if (values.smoke) {
      return done({
        kind: "ts",
        options: {
          ...endpoints,
          backends: values.backend === undefined ? registeredTsBackends() : backends,
          batches: [100, 1000],
          writers: 2,
          payloadBytes: 100,
          durationS: 0.5,
          warmupS: 0.3,
          readConcurrency: 2,
          pageEvents: 1000,
          maxWindowEvents: 200_000,
        },
      });
    }
    const batches = (values.batch ?? "100,1000").split(",").map(Number);
    if (batches.length === 0 || batches.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000)) {
      problems.push("--batch: comma-separated integers from 1 to 10,000");
    }
    return done({
      kind: "ts",
      options: {
        ...endpoints,
        backends,
        batches,
        writers: int("writers", "4", 1, 256),
        payloadBytes: int("payload-bytes", "100", 0, 1 << 20),
        durationS: int("duration", "10", 1, 600),
        warmupS: int("warmup", "2", 0, 120),
        readConcurrency: 4,
        pageEvents: 1000,
        maxWindowEvents: TS_MAX_WINDOW_EVENTS,
        ...(values["cpu-prof"] ? { cpuProfileDir: resolve(values["cpu-prof"]) } : {}),
      },
    });
  }
  if (values.shadow) {
    if (values.records !== undefined || values.auth || values.telemetry)
      problems.push("--shadow: not with --records, --auth or --telemetry");
    if (values.smoke) return done({ kind: "shadow", options: shadowSmokeOptions(pgUrl, natsUrl) });
    const backend = values.backend ?? "postgres";
    if (backend !== "memory" && backend !== "postgres") problems.push("--backend: postgres or memory");
    return done({
      kind: "shadow",
      options: {
        backend: backend as ShadowBenchOptions["backend"],
        durationS: int("duration", "10", 1, 600),
        warmupS: int("warmup", "3", 0, 120),
        concurrency: int("concurrency", "32", 1, 10_000),
        channels: int("channels", "4", 1, 64),
        rounds: int("rounds", "3", 1, 20),
        client: values.client as ShadowBenchOptions["client"],
        records: int("ids", "1000", 1, 1_000_000),
        valueBytes: int("value-bytes", "100", 0, 1 << 20),
        pgUrl,
        pgPoolSize: int("pg-pool", "10", 1, 1000),
        natsUrl,
        backfillRecords: int("backfill-records", "20000", 1, 10_000_000),
        ...(values.rate !== undefined && { rate: int("rate", "1000", 1, 1_000_000) }),
      },
    });
  }
  if (values.workers !== undefined) {
    const workers = values.workers.split(",").map(Number);
    if (workers.length === 0 || workers.some((n) => !Number.isInteger(n) || n < 1 || n > 64))
      problems.push("--workers: comma-separated integers from 1 to 64");
    const backend = values.backend ?? "sqlite";
    if (backend !== "sqlite" && backend !== "postgres")
      problems.push("--workers: --backend sqlite or postgres");
    return done({
      kind: "workers",
      options: {
        workers,
        backend: backend as WorkersBenchOptions["backend"],
        durationS: int("duration", "10", 1, 600),
        warmupS: int("warmup", "3", 0, 120),
        concurrency: int("concurrency", "32", 1, 10_000),
        channels: int("channels", "4", 1, 64),
        rounds: int("rounds", "3", 1, 20),
        client: values.client as WorkersBenchOptions["client"],
        records: int("ids", "1000", 1, 1_000_000),
        valueBytes: int("value-bytes", "100", 0, 1 << 20),
        pgUrl,
        pgPoolSize: int("pg-pool", "10", 1, 1000),
      },
    });
  }
  if (values.smoke) return done({ kind: "smoke", pgUrl, natsUrl });

  const client = values.client as KvBenchOptions["client"];
  const concurrency = int("concurrency", "32", 1, 10_000);
  const channels = int("channels", "4", 1, 64);
  const pgPoolSize = int("pg-pool", "10", 1, 1000);
  if (values.records !== undefined) {
    const counts = values.records.split(",").map(Number);
    if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000_000)) {
      problems.push("--records: comma-separated integers from 1 to 10,000,000");
    }
    const backend = (values.backend ?? "memory") as RecordBackend;
    if (!RECORD_BACKENDS.includes(backend)) problems.push(`--backend: ${RECORD_BACKENDS.join(", ")}`);
    return done({
      kind: "records",
      options: {
        backend,
        counts,
        valueBytes: int("value-bytes", "100", 0, 1 << 20),
        rate: int("rate", "1000", 1, 1_000_000),
        concurrency,
        channels,
        durationS: int("duration", "10", 1, 600),
        warmupS: int("warmup", "2", 0, 120),
        reload: values.reload ?? false,
        pgUrl,
        pgPoolSize,
        natsUrl,
      },
    });
  }
  const backend = values.backend ?? (values.rate === undefined ? "memory" : "postgres");
  if (backend !== "memory" && backend !== "postgres") problems.push("--backend: memory or postgres");
  const cpuProfileDir = values["cpu-prof"] ? { cpuProfileDir: resolve(values["cpu-prof"]) } : {};
  if (values.rate !== undefined) {
    return done({
      kind: "rate",
      options: {
        rate: int("rate", "1000", 1, 1_000_000),
        records: int("ids", "1000", 1, 1_000_000),
        valueBytes: int("value-bytes", "1024", 0, 1 << 20),
        concurrency,
        channels,
        rounds: int("rounds", "2", 1, 20),
        durationS: int("duration", "15", 1, 600),
        warmupS: int("warmup", "3", 0, 120),
        client,
        postgres: backend === "postgres",
        pgUrl,
        pgPoolSize,
        loopResolutionMs: int("loop-resolution", "2", 1, 1000),
        ...cpuProfileDir,
        bundled: values.bundled ?? false,
      },
    });
  }
  return done({
    kind: "closed",
    options: {
      backend: backend as KvBenchOptions["backend"],
      durationS: int("duration", "10", 1, 600),
      warmupS: int("warmup", "3", 0, 120),
      concurrency,
      channels,
      rounds: int("rounds", "3", 1, 20),
      client,
      records: int("ids", "1000", 1, 1_000_000),
      valueBytes: int("value-bytes", "100", 0, 1 << 20),
      pgPoolSize,
      pgUrl,
      ...cpuProfileDir,
      auth: values.auth ?? false,
      telemetry: values.telemetry ?? false,
      compiled: values.compiled ?? false,
    },
  });
}

export class UsageError extends Error {}

/** The graph the other backends are measured on, and neptune's unless --full. */
const GRAPH_DEFAULT = { nodes: 10_000, edges: 100_000 } as const;
const GRAPH_NEPTUNE_DEFAULT = { nodes: 2000, edges: 10_000 } as const;
const GRAPH_SMOKE = { nodes: 200, edges: 1000 } as const;
/**
 * Calls/s of the open loop: low load. On the 2-CPU machine the bench, gateway and servers share,
 * 200/s already saturates the gateway's 2-hop Traverse (protobuf-es encodes each streamed node).
 */
const GRAPH_RATE = 50;

/** `pnpm bench graph`'s options; bad values are pushed onto the usage problems by `int`. */
function graphOptions(
  values: {
    backend?: string;
    smoke?: boolean;
    full?: boolean;
    nodes?: string;
    edges?: string;
    "cpu-prof"?: string;
  },
  pgUrl: string,
  int: (
    name: "nodes" | "edges" | "rate" | "duration" | "warmup" | "warm-calls",
    fallback: string,
    min: number,
    max: number,
  ) => number,
): GraphBenchOptions {
  const backends = (values.backend?.split(",") ?? registeredGraphBackends()) as GraphBackendName[];
  if (backends.length === 0 || backends.some((b) => !GRAPH_BACKENDS.includes(b))) {
    throw new UsageError(`--backend: comma-separated, of ${GRAPH_BACKENDS.join(", ")}`);
  }
  const shared = {
    pgUrl,
    gremlinUrl: process.env.PRISM_TEST_GREMLIN_URL || DEFAULT_GREMLIN_URL,
    backends,
    seed: 42,
    batch: 1000,
    concurrency: 8,
    neighborsPage: 100,
    traverseDepth: 2,
    traverseLimit: 1000,
    visitBudget: 1_000_000,
  };
  if (values.smoke) {
    return {
      ...shared,
      nodes: GRAPH_SMOKE.nodes,
      edges: GRAPH_SMOKE.edges,
      // Gremlin Server loads about 1,000 edges/s.
      neptuneNodes: GRAPH_SMOKE.nodes / 2,
      neptuneEdges: GRAPH_SMOKE.edges / 2,
      rate: 50,
      durationS: 0.5,
      warmupS: 0.2,
      warmCalls: 20,
    };
  }
  const nodes = int("nodes", String(GRAPH_DEFAULT.nodes), 2, 10_000_000);
  const edges = int("edges", String(GRAPH_DEFAULT.edges), 1, 100_000_000);
  if (Number.isInteger(nodes) && Number.isInteger(edges) && edges > maxEdges(nodes)) {
    throw new UsageError(`--edges: ${nodes} nodes hold at most ${maxEdges(nodes)} generated edges`);
  }
  const explicit = values.nodes !== undefined || values.edges !== undefined;
  const neptune = values.full || explicit ? { nodes, edges } : GRAPH_NEPTUNE_DEFAULT;
  return {
    ...shared,
    nodes,
    edges,
    neptuneNodes: neptune.nodes,
    neptuneEdges: neptune.edges,
    rate: int("rate", String(GRAPH_RATE), 1, 100_000),
    durationS: int("duration", "10", 1, 600),
    warmupS: int("warmup", "2", 0, 120),
    warmCalls: int("warm-calls", "2000", 0, 1_000_000),
    ...(values["cpu-prof"] ? { cpuProfileDir: resolve(values["cpu-prof"]) } : {}),
  };
}

/** The Graph backends the gateway has drivers for; says which it lacks. */
function registeredGraphBackends(): GraphBackendName[] {
  const registered = graphBackendsOf(DRIVERS.filter((d) => d.patterns.includes("graph")).map((d) => d.type));
  const missing = GRAPH_BACKENDS.filter((b) => !registered.includes(b));
  if (missing.length > 0) {
    process.stderr.write(
      `bench graph: no Graph driver registered in gateway/src/drivers.ts for ${missing.join(", ")}; not measured\n`,
    );
  }
  return registered;
}

/**
 * Events one TimeSeries window may write: bounds what a very fast in-memory store holds (about
 * 0.5 KB an event) while keeping windows of the other backends time-bound.
 */
const TS_MAX_WINDOW_EVENTS = 2_000_000;

/** The TimeSeries backends the gateway has drivers for, in TS_BACKENDS order; says which it lacks. */
function registeredTsBackends(): TsBackend[] {
  const registered = new Set(DRIVERS.filter((d) => d.patterns.includes("timeseries")).map((d) => d.type));
  const missing = TS_BACKENDS.filter((b) => !registered.has(b));
  if (missing.length > 0) {
    process.stderr.write(
      `bench ts: no TimeSeries driver registered in gateway/src/drivers.ts for ${missing.join(", ")}; not measured\n`,
    );
  }
  return TS_BACKENDS.filter((b) => registered.has(b));
}
