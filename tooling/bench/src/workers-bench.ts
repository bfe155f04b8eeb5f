import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import type { ChildServer } from "./child.js";
import { type Dataset, POSTGRES_NAMESPACE } from "./dataset.js";
import { int, round, table } from "./format.js";
import { startGatewayProcess } from "./gateway-process.js";
import { mergeHistograms, summarize } from "./histogram.js";
import type { ClosedLoopOptions } from "./kv-bench.js";
import type { LoadOptions } from "./load.js";
import { createLoadClient } from "./load-client.js";
import { measureRound, type Round } from "./measure.js";
import { preload } from "./preload.js";
import { cpuSeconds, runQueueSeconds } from "./proc-stats.js";
import { median } from "./report.js";

/** `pnpm bench kv --workers 1,2`: the same closed loop against gateways of 1, 2, … workers. */
export interface WorkersBenchOptions extends ClosedLoopOptions {
  /** Worker counts to compare, e.g. [1, 2]. */
  readonly workers: readonly number[];
  /** sqlite (a file per gateway, shared by its workers) or postgres (the stack's server). */
  readonly backend: "sqlite" | "postgres";
}

/** One gateway's results over all rounds. */
export interface WorkersResult {
  readonly workers: number;
  readonly roundThroughputs: readonly number[];
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  /** Cores the gateway's processes (supervisor + workers) used, mean over warm-up + window. */
  readonly gatewayCores: number;
  /**
   * Seconds per second the gateway's processes waited for a CPU (main threads, warm-up + window):
   * near or above 1, the machine was oversubscribed and the numbers say more about it than about
   * the gateway.
   */
  readonly gatewayWaitPerSecond: number;
  /** Cores the bench process (the load generator) used in the measured windows. */
  readonly clientCores: number;
  readonly failures: Readonly<Record<string, number>>;
}

const NAMESPACE = "bench-kv-workers";

/**
 * Starts one gateway per worker count (all at once, each on a fixed free port, since workers
 * cannot share port 0), loads the dataset into each, then measures them in turn, `rounds` times
 * in rotating order, with the same load. Children are stopped before this returns or throws.
 *
 * @example const results = await runWorkersBench({ ...options, workers: [1, 2] })
 */
export async function runWorkersBench(options: WorkersBenchOptions): Promise<WorkersResult[]> {
  const dataset: Dataset = { records: options.records, valueBytes: options.valueBytes };
  const children: ChildServer[] = [];
  const clients: { close(): void }[] = [];
  try {
    const gateways: { workers: number; server: ChildServer; issue: (seq: number) => Promise<void> }[] = [];
    for (const workers of options.workers) {
      const server = await startGatewayProcess({
        backends: {
          store:
            options.backend === "postgres"
              ? { type: "postgres", url: "env:PRISM_BENCH_PG_URL", poolSize: options.pgPoolSize }
              : { type: "sqlite", path: "bench.db" },
        },
        namespaces: { [options.backend === "postgres" ? POSTGRES_NAMESPACE : NAMESPACE]: "store" },
        env: { PRISM_BENCH_PG_URL: options.pgUrl },
        config: { workers, listen: { grpc: `127.0.0.1:${await freePort()}` } },
      });
      children.push(server);
      const namespace = options.backend === "postgres" ? POSTGRES_NAMESPACE : NAMESPACE;
      await preload(server.address, namespace, dataset);
      const client = createLoadClient(options.client, {
        address: server.address,
        channels: options.channels,
        namespace,
        dataset,
      });
      clients.push(client);
      gateways.push({ workers, server, issue: (seq) => client.get(seq) });
    }
    const load: LoadOptions = {
      concurrency: options.concurrency,
      warmupMs: options.warmupS * 1000,
      durationMs: options.durationS * 1000,
    };
    const rounds = new Map(gateways.map((g) => [g, [] as { round: Round; cpu: number; wait: number }[]]));
    for (let r = 0; r < options.rounds; r++) {
      // Rotate the order: no gateway always runs first or right after the same other one.
      const order = gateways.map((_, i) => gateways[(i + r) % gateways.length]!);
      for (const gateway of order) {
        process.stderr.write(`workers round ${r + 1}/${options.rounds}: ${gateway.workers} worker(s)…\n`);
        const before = treeSeconds(gateway.server.pid, cpuSeconds);
        const waitedBefore = treeSeconds(gateway.server.pid, runQueueSeconds);
        const round = await measureRound(
          { label: `${gateway.workers}`, issue: gateway.issue, close() {} },
          load,
        );
        rounds.get(gateway)!.push({
          round,
          cpu: treeSeconds(gateway.server.pid, cpuSeconds) - before,
          wait: treeSeconds(gateway.server.pid, runQueueSeconds) - waitedBefore,
        });
      }
    }
    return gateways.map((gateway) => {
      const measured = rounds.get(gateway)!;
      const latency = summarize(mergeHistograms(measured.map((m) => m.round.histogram)));
      const failures: Record<string, number> = {};
      for (const { round } of measured) {
        for (const [message, count] of round.errors) failures[message] = (failures[message] ?? 0) + count;
      }
      const windowS = options.warmupS + options.durationS;
      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      return {
        workers: gateway.workers,
        roundThroughputs: measured.map((m) => m.round.throughput),
        throughput: median(measured.map((m) => m.round.throughput)),
        p50: latency.p50,
        p99: latency.p99,
        gatewayCores: mean(measured.map((m) => m.cpu / windowS)),
        gatewayWaitPerSecond: mean(measured.map((m) => m.wait / windowS)),
        clientCores: mean(measured.map((m) => m.round.clientCpuSeconds / options.durationS)),
        failures,
      };
    });
  } finally {
    for (const client of clients) client.close();
    await Promise.allSettled(children.map((child) => child.stop(15_000)));
  }
}

/** The report: one row per worker count, then the ratio to the first. */
export function formatWorkersReport(options: WorkersBenchOptions, results: readonly WorkersResult[]): string {
  const cpus = availableParallelism();
  const lines = [
    `Prism bench kv --workers: Get of ${options.records} records × ${options.valueBytes} B on ${options.backend};` +
      ` ${options.concurrency} calls in flight over ${options.channels} ${options.client} connections;` +
      ` ${options.rounds} round(s) × ${options.durationS} s after ${options.warmupS} s warm-up, gateways in rotating order`,
    `${cpus} CPUs shared by the load generator (this process), the gateway's supervisor and workers` +
      (options.backend === "postgres" ? ", and PostgreSQL" : "") +
      (cpus <= 2
        ? ": with 2 cores the load generator competes with the workers for CPU, so the gain of a second worker is understated"
        : ""),
    "req/s: median of rounds; latency: all measured calls merged; gateway cores / CPU wait s/s: CPU used by" +
      " the supervisor and its workers, and time their main threads waited for a CPU, per second" +
      " (a wait near 1 or more: the machine was oversubscribed; read the numbers as the machine's, not the gateway's)",
    "",
  ];
  const header = [
    "workers",
    "req/s",
    "rounds",
    "p50 µs",
    "p99 µs",
    "gateway cores",
    "gateway CPU wait s/s",
    "client cores",
  ];
  const rows = results.map((r) => [
    String(r.workers),
    int(r.throughput),
    r.roundThroughputs.map(int).join(" "),
    int(r.p50),
    int(r.p99),
    r.gatewayCores.toFixed(2),
    r.gatewayWaitPerSecond.toFixed(2),
    r.clientCores.toFixed(2),
  ]);
  lines.push(...table([header, ...rows]));
  const first = results[0];
  for (const r of results.slice(1)) {
    if (first)
      lines.push(
        `throughput ${r.workers} / ${first.workers} worker(s): ${(r.throughput / first.throughput).toFixed(2)}`,
      );
  }
  for (const r of results) {
    for (const [message, count] of Object.entries(r.failures)) {
      lines.push(`FAILED CALLS ${r.workers} worker(s): ${count} × ${message}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Every number as one JSON line. */
export function formatWorkersJson(options: WorkersBenchOptions, results: readonly WorkersResult[]): string {
  return JSON.stringify({
    bench: "kv-workers",
    backend: options.backend,
    cpus: availableParallelism(),
    records: options.records,
    valueBytes: options.valueBytes,
    concurrency: options.concurrency,
    channels: options.channels,
    results: results.map((r) => ({
      workers: r.workers,
      throughput: round(r.throughput, 0),
      roundThroughputs: r.roundThroughputs.map((t) => round(t, 0)),
      p50Us: round(r.p50, 0),
      p99Us: round(r.p99, 0),
      gatewayCores: round(r.gatewayCores, 2),
      gatewayWaitPerSecond: round(r.gatewayWaitPerSecond, 2),
      clientCores: round(r.clientCores, 2),
    })),
  });
}

/** Failed calls over all gateways. */
export function workersFailures(results: readonly WorkersResult[]): number {
  return results.reduce((sum, r) => sum + Object.values(r.failures).reduce((a, b) => a + b, 0), 0);
}

/**
 * A /proc reading (CPU seconds, run-queue wait) summed over `pid` and its children (the
 * supervisor's workers); 0 where unknown.
 */
function treeSeconds(pid: number, read: (pid: number) => number | undefined): number {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    // No procfs: the columns read 0.
  }
  return [pid, ...children].reduce((sum, p) => sum + (read(p) ?? 0), 0);
}

/** A loopback port that was free a moment ago (the gateway's workers need a fixed one). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
