import { availableParallelism } from "node:os";
import { AUTH_GOAL, startAuthGateway } from "./auth-bench.js";
import type { ChildServer } from "./child.js";
import { startCompiledGateways } from "./compiled-bench.js";
import { type Dataset, MEMORY_NAMESPACE, POSTGRES_NAMESPACE } from "./dataset.js";
import type { LoadOptions } from "./load.js";
import { type ClientKind, createLoadClient } from "./load-client.js";
import { measureRound, type Round, summarizeTarget, type Target } from "./measure.js";
import { DirectPgReader } from "./pg-direct.js";
import { preload, verify } from "./preload.js";
import type { BenchSettings, Comparison } from "./report.js";
import { startServers } from "./servers.js";
import { startTelemetryGateways, TELEMETRY_GOAL } from "./telemetry-bench.js";

/** The closed loop every kv comparison runs: its timing, load and PostgreSQL pool. */
export interface ClosedLoopOptions extends Dataset {
  readonly durationS: number;
  readonly warmupS: number;
  readonly concurrency: number;
  readonly channels: number;
  readonly rounds: number;
  /** The load client: bare node:http2 (lean, default) or @grpc/grpc-js. */
  readonly client: ClientKind;
  readonly pgUrl: string;
  /** Connections of both the gateway's postgres backend and the direct pool. */
  readonly pgPoolSize: number;
}

/** Everything `pnpm bench kv` can be asked for. */
export interface KvBenchOptions extends ClosedLoopOptions {
  /** `postgres` adds the postgres comparison to the memory one. */
  readonly backend: "memory" | "postgres";
  /** Where to write both children's V8 CPU profiles (`gateway/`, `bare/`), when profiling. */
  readonly cpuProfileDir?: string;
  /** Also compare the gateway with `auth.mode: oidc` against the gateway without (issue 10's goal). */
  readonly auth?: boolean;
  /** Also compare the gateway with metrics and 1% tracing against both off (issue 12's goal). */
  readonly telemetry?: boolean;
  /** Also compare the compiled gateway (`pnpm build`, plain node) against the gateway under tsx. */
  readonly compiled?: boolean;
}

/** The throughput ratio gateway / bare grpc-js the gateway must keep (closed loop, memory backend). */
export const MEMORY_GOAL = 0.85;

/** A baseline and the gateway on one backend, measured in alternation. */
interface Pair {
  key: string;
  title: string;
  goal?: number;
  baseline: Target;
  gateway: Target;
}

/**
 * Runs the KV benchmark: starts the bare grpc-js server and the gateway as child processes, loads
 * the same records into both (and into postgres through the gateway), then measures each
 * comparison's baseline and gateway in alternating order, `rounds` times. Children are always
 * stopped before this returns or throws.
 *
 * @example const { settings, comparisons } = await runKvBench(options)
 */
export async function runKvBench(
  options: KvBenchOptions,
): Promise<{ settings: BenchSettings; comparisons: Record<string, Comparison> }> {
  const dataset: Dataset = { records: options.records, valueBytes: options.valueBytes };
  const postgres = options.backend === "postgres";
  const children: ChildServer[] = [];
  const targets: Target[] = [];
  const closers: (() => Promise<void>)[] = [];
  try {
    const { bare, gateway } = await startServers(
      {
        dataset,
        postgres,
        pgUrl: options.pgUrl,
        pgPoolSize: options.pgPoolSize,
        ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
      },
      children,
    );

    await verify(bare.address, MEMORY_NAMESPACE, dataset);
    await preload(gateway.address, MEMORY_NAMESPACE, dataset);
    if (postgres) await preload(gateway.address, POSTGRES_NAMESPACE, dataset);
    const auth = options.auth ? await startAuthGateway(dataset, children) : undefined;
    if (auth) closers.push(auth.close);
    const telemetry = options.telemetry ? await startTelemetryGateways(dataset, children) : undefined;
    if (telemetry) closers.push(telemetry.close);
    const compiled = options.compiled ? await startCompiledGateways(dataset, children) : undefined;

    // Each target joins `targets` as soon as it exists, so `finally` closes it whatever fails next.
    const track = (target: Target): Target => {
      targets.push(target);
      return target;
    };
    const grpcTarget = (
      label: string,
      server: ChildServer,
      namespace: string,
      headers?: Record<string, string>,
    ): Target => {
      const target = {
        address: server.address,
        channels: options.channels,
        namespace,
        dataset,
        ...(headers && { headers }),
      };
      const client = createLoadClient(options.client, target);
      return track({ label, issue: (seq) => client.get(seq), pid: server.pid, close: () => client.close() });
    };
    const pairs: Pair[] = [
      {
        key: "memory",
        title: "memory backend",
        goal: MEMORY_GOAL,
        baseline: grpcTarget("bare grpc-js", bare, MEMORY_NAMESPACE),
        gateway: grpcTarget("gateway", gateway, MEMORY_NAMESPACE),
      },
    ];
    if (auth) {
      pairs.push({
        key: "auth",
        title: "oidc auth: gateway with a bearer token / gateway without auth (memory backend)",
        goal: AUTH_GOAL,
        baseline: grpcTarget("gateway, auth none", auth.plain, MEMORY_NAMESPACE),
        gateway: grpcTarget("gateway, auth oidc", auth.gateway, MEMORY_NAMESPACE, auth.headers),
      });
    }
    if (telemetry) {
      pairs.push({
        key: "telemetry",
        title: "telemetry: gateway with metrics and 1% tracing / gateway with both off (memory backend)",
        goal: TELEMETRY_GOAL,
        baseline: grpcTarget("gateway, telemetry off", telemetry.plain, MEMORY_NAMESPACE),
        gateway: grpcTarget("gateway, metrics + tracing 1%", telemetry.gateway, MEMORY_NAMESPACE),
      });
    }
    if (compiled) {
      pairs.push({
        key: "compiled",
        title: "compiled (dist/, plain node) vs tsx, memory backend",
        baseline: grpcTarget("gateway, tsx", compiled.tsx, MEMORY_NAMESPACE),
        gateway: grpcTarget("gateway, compiled", compiled.compiled, MEMORY_NAMESPACE),
      });
    }
    if (postgres) {
      const direct = new DirectPgReader(options.pgUrl, options.pgPoolSize, POSTGRES_NAMESPACE, dataset);
      pairs.push({
        key: "postgres",
        title: "postgres backend",
        baseline: track({ label: "direct pg", issue: (seq) => direct.get(seq), close: () => direct.close() }),
        gateway: grpcTarget("gateway", gateway, POSTGRES_NAMESPACE),
      });
    }

    const load: LoadOptions = {
      concurrency: options.concurrency,
      warmupMs: options.warmupS * 1000,
      durationMs: options.durationS * 1000,
    };
    const comparisons: Record<string, Comparison> = {};
    for (const pair of pairs) {
      const rounds = new Map<Target, Round[]>([
        [pair.baseline, []],
        [pair.gateway, []],
      ]);
      for (let r = 0; r < options.rounds; r++) {
        // ABBA: neither side always runs first (on a warmer client, or after the other's garbage).
        const order = r % 2 === 0 ? [pair.baseline, pair.gateway] : [pair.gateway, pair.baseline];
        for (const target of order) {
          process.stderr.write(`${pair.key} round ${r + 1}/${options.rounds}: ${target.label}…\n`);
          rounds.get(target)!.push(await measureRound(target, load));
        }
      }
      comparisons[pair.key] = {
        title: pair.title,
        baseline: summarizeTarget(pair.baseline, rounds.get(pair.baseline)!),
        gateway: summarizeTarget(pair.gateway, rounds.get(pair.gateway)!),
        ...(pair.goal === undefined ? {} : { goal: pair.goal }),
      };
    }
    // The gateway's span processor exports in batches every 5 s (OTEL_BSP_SCHEDULE_DELAY's
    // default), so a short run (the smoke) can end before the first export: wait for it.
    if (telemetry) await telemetry.exported(10_000);
    if (telemetry && telemetry.exports() === 0) {
      throw new Error("telemetry: the gateway exported no spans; the comparison would measure nothing");
    }
    return { settings: settingsOf(options), comparisons };
  } finally {
    await Promise.allSettled(targets.map((t) => t.close()));
    await Promise.allSettled(children.map((child) => child.stop()));
    await Promise.allSettled(closers.map((close) => close()));
  }
}

function settingsOf(options: KvBenchOptions): BenchSettings {
  return {
    records: options.records,
    valueBytes: options.valueBytes,
    concurrency: options.concurrency,
    channels: options.channels,
    rounds: options.rounds,
    client: options.client,
    durationS: options.durationS,
    warmupS: options.warmupS,
    cpus: availableParallelism(),
    ...(options.backend === "postgres" ? { pgPoolSize: options.pgPoolSize } : {}),
  };
}
