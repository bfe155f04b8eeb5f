import { availableParallelism } from "node:os";
import { bundleChildren } from "./bundle.js";
import type { ChildServer } from "./child.js";
import { type Dataset, MEMORY_NAMESPACE, POSTGRES_NAMESPACE } from "./dataset.js";
import { type Histogram, mergeHistograms, summarize } from "./histogram.js";
import type { RateSettings, RateTargetResult, RateTargets } from "./latency-report.js";
import { type IssueCall, runClosedLoop } from "./load.js";
import { type ClientKind, createLoadClient } from "./load-client.js";
import { LoopDelayProbe, type LoopDelayWindow, summarizeLoopDelay } from "./loop-delay.js";
import { cpuPerThousand, type OpenLoopOptions, runOpenLoop } from "./open-loop.js";
import { DirectPgReader } from "./pg-direct.js";
import { preload, verify } from "./preload.js";
import { cpuSeconds, peakRssBytes } from "./proc-stats.js";
import { startServers } from "./servers.js";

/** Everything `pnpm bench kv --rate N` can be asked for. */
export interface RateBenchOptions extends Dataset {
  readonly rate: number;
  readonly concurrency: number;
  readonly channels: number;
  readonly rounds: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly client: ClientKind;
  /** Add the gateway on postgres and direct pg (the default for `--rate`). */
  readonly postgres: boolean;
  readonly pgUrl: string;
  readonly pgPoolSize: number;
  /** Sampling interval of the event-loop delay probe, ms. */
  readonly loopResolutionMs: number;
  readonly cpuProfileDir?: string;
  /** Closed-loop warm-up of each target before the first round, ms (default 1000). */
  readonly primeMs?: number;
  /** Run the gateway and the bare server bundled, without tsx (the `--bundled` prototype). */
  readonly bundled?: boolean;
}

/** Closed-loop warm-up of each target before the first round, ms. */
const PRIME_MS = 1000;

/** The probe module both children preload. */
const PROBE = import.meta.resolve("./loop-delay-probe.ts");

/** A target driven at a fixed rate. */
interface RateTarget {
  readonly key: keyof RateTargets;
  readonly label: string;
  readonly issue: IssueCall;
  /** The serving process, for CPU, RSS and its event-loop probe; absent in-process (direct pg). */
  readonly server?: ChildServer;
  readonly probe?: LoopDelayProbe;
  close(): void | Promise<void>;
}

/** What one measured window of one target saw. */
interface RateRound {
  readonly histogram: Histogram;
  readonly sendLag: Histogram;
  readonly elapsedMs: number;
  readonly serverCpuSeconds?: number;
  readonly clientCpuSeconds: number;
  readonly loopDelay?: LoopDelayWindow;
  readonly unfinished: number;
  readonly errors: ReadonlyMap<string, number>;
}

/**
 * Runs the open-loop benchmark: the bare grpc-js server, the gateway on memory and (unless memory
 * only) the gateway on postgres and direct `pg`, each driven at `rate` calls/s in turn, the order
 * reversed every other round. Children are always stopped before this returns or throws.
 *
 * @example const { settings, targets } = await runRateBench(options)
 */
export async function runRateBench(
  options: RateBenchOptions,
): Promise<{ settings: RateSettings; targets: RateTargets }> {
  const dataset: Dataset = { records: options.records, valueBytes: options.valueBytes };
  const children: ChildServer[] = [];
  const targets: RateTarget[] = [];
  try {
    const bundle = options.bundled ? await bundleChildren() : undefined;
    const { bare, gateway } = await startServers(
      {
        dataset,
        postgres: options.postgres,
        pgUrl: options.pgUrl,
        pgPoolSize: options.pgPoolSize,
        preload: [bundle?.probe ?? PROBE],
        ...(bundle && { bundle }),
        ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
      },
      children,
    );
    await verify(bare.address, MEMORY_NAMESPACE, dataset);
    await preload(gateway.address, MEMORY_NAMESPACE, dataset);
    if (options.postgres) await preload(gateway.address, POSTGRES_NAMESPACE, dataset);

    const grpc = (key: RateTarget["key"], label: string, server: ChildServer, namespace: string) => {
      const client = createLoadClient(options.client, {
        address: server.address,
        channels: options.channels,
        namespace,
        dataset,
      });
      targets.push({
        key,
        label,
        issue: (seq) => client.get(seq),
        server,
        probe: new LoopDelayProbe(server.process, options.loopResolutionMs),
        close: () => client.close(),
      });
    };
    grpc("bare", "bare grpc-js", bare, MEMORY_NAMESPACE);
    grpc("gatewayMemory", "gateway (memory)", gateway, MEMORY_NAMESPACE);
    if (options.postgres) {
      grpc("barePostgres", "bare grpc-js + pg", bare, POSTGRES_NAMESPACE);
      grpc("gatewayPostgres", "gateway (postgres)", gateway, POSTGRES_NAMESPACE);
      const direct = new DirectPgReader(options.pgUrl, options.pgPoolSize, POSTGRES_NAMESPACE, dataset);
      targets.push({
        key: "directPg",
        label: "direct pg",
        issue: (seq) => direct.get(seq),
        close: () => direct.close(),
      });
    }

    const load: OpenLoopOptions = {
      rate: options.rate,
      concurrency: options.concurrency,
      warmupMs: options.warmupS * 1000,
      durationMs: options.durationS * 1000,
    };
    // Closed loop first, unrecorded: every server and the client's code paths warm (JIT, pools), so
    // no cold start builds a backlog at the fixed rate.
    for (const target of targets) {
      await runClosedLoop(target.issue, {
        concurrency: options.concurrency,
        warmupMs: 0,
        durationMs: options.primeMs ?? PRIME_MS,
      });
    }
    const rounds = new Map<RateTarget, RateRound[]>(targets.map((t) => [t, []]));
    for (let r = 0; r < options.rounds; r++) {
      // Reversed every other round: no target always runs first, or right after the same neighbour.
      const order = r % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        process.stderr.write(`rate ${options.rate}/s round ${r + 1}/${options.rounds}: ${target.label}…\n`);
        rounds.get(target)!.push(await measureRateRound(target, load));
      }
    }
    const results: Partial<Record<keyof RateTargets, RateTargetResult>> = {};
    for (const target of targets)
      results[target.key] = summarizeRate(target, rounds.get(target)!, options.rate);
    return { settings: settingsOf(options), targets: results as RateTargets };
  } finally {
    await Promise.allSettled(targets.map((t) => t.close()));
    await Promise.allSettled(children.map((child) => child.stop()));
  }
}

/** One warm-up plus measured window, with the server's CPU and event-loop delay over the window. */
async function measureRateRound(target: RateTarget, load: OpenLoopOptions): Promise<RateRound> {
  const pid = target.server?.pid;
  const read = () => ({
    server: pid === undefined ? undefined : cpuSeconds(pid),
    client: process.cpuUsage(),
  });
  let start = read();
  let end = start;
  let loopDelay: Promise<LoopDelayWindow> | undefined;
  const result = await runOpenLoop(target.issue, load, {
    onMeasureStart: () => {
      target.probe?.start();
      start = read();
    },
    onMeasureEnd: () => {
      end = read();
      loopDelay = target.probe?.stop();
    },
  });
  const micros = (usage: NodeJS.CpuUsage) => usage.user + usage.system;
  const serverCpu =
    start.server === undefined || end.server === undefined ? undefined : end.server - start.server;
  const window = await loopDelay;
  return {
    histogram: result.histogram,
    sendLag: result.sendLag,
    elapsedMs: result.elapsedMs,
    ...(serverCpu === undefined ? {} : { serverCpuSeconds: serverCpu }),
    clientCpuSeconds: (micros(end.client) - micros(start.client)) / 1e6,
    ...(window ? { loopDelay: window } : {}),
    unfinished: result.unfinished,
    errors: result.errors,
  };
}

/** A target's rounds as the report shows them (peak RSS is read now: call before stopping it). */
function summarizeRate(target: RateTarget, rounds: readonly RateRound[], rate: number): RateTargetResult {
  const latency = summarize(mergeHistograms(rounds.map((r) => r.histogram)));
  const windowS = rounds.reduce((a, r) => a + r.elapsedMs, 0) / 1000;
  const failures: Record<string, number> = {};
  for (const round of rounds) {
    for (const [message, count] of round.errors) failures[message] = (failures[message] ?? 0) + count;
  }
  const serverCpu = rounds.every((r) => r.serverCpuSeconds !== undefined)
    ? rounds.reduce((a, r) => a + r.serverCpuSeconds!, 0)
    : undefined;
  const rss = target.server === undefined ? undefined : peakRssBytes(target.server.pid);
  const windows = rounds.flatMap((r) => (r.loopDelay ? [r.loopDelay] : []));
  const loopDelay = summarizeLoopDelay(windows);
  return {
    label: target.label,
    latency,
    rounds: rounds.map((r) => {
      const { p50, p99 } = summarize(r.histogram);
      return { p50, p99 };
    }),
    sendLagP99: summarize(mergeHistograms(rounds.map((r) => r.sendLag))).p99,
    achievedRate: latency.count / windowS,
    ...(serverCpu === undefined ? {} : { cpuPerThousand: cpuPerThousand(serverCpu, windowS, rate) }),
    ...(rss === undefined ? {} : { peakRssBytes: rss }),
    clientCpuPerThousand: cpuPerThousand(
      rounds.reduce((a, r) => a + r.clientCpuSeconds, 0),
      windowS,
      rate,
    ),
    ...(loopDelay ? { loopDelay } : {}),
    unfinished: rounds.reduce((a, r) => a + r.unfinished, 0),
    failures,
  };
}

function settingsOf(options: RateBenchOptions): RateSettings {
  return {
    rate: options.rate,
    records: options.records,
    valueBytes: options.valueBytes,
    concurrency: options.concurrency,
    channels: options.channels,
    client: options.client,
    rounds: options.rounds,
    durationS: options.durationS,
    warmupS: options.warmupS,
    loopResolutionMs: options.loopResolutionMs,
    cpus: availableParallelism(),
    ...(options.postgres ? { pgPoolSize: options.pgPoolSize } : {}),
  };
}
