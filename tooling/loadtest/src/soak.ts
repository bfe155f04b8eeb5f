import { spawnGateway } from "./gateway-process.js";
import { runScenario } from "./run-scenario.js";
import { type Scenario, validateScenario } from "./scenario.js";
import { buildSoakReport, type SoakBounds, type SoakReport } from "./soak-report.js";
import { type SoakSample, SoakSampler } from "./soak-sampler.js";

/** How long and how hard to soak, and what counts as a trend. */
export interface SoakOptions {
  minutes: number;
  /** Total requests per second over the mix. */
  rate: number;
  /** Seconds between samples. */
  sampleSeconds: number;
  /** Share of the run, from its start, left out of the fits (0.2 = the first fifth). */
  warmupShare: number;
  bounds: SoakBounds;
  /** A gateway config to spawn (the embedded default when absent). */
  config?: string;
  /** Called with every sample, e.g. to print progress. */
  onSample?: (sample: SoakSample, options: SoakOptions) => void;
  /** Ends the run early (Ctrl-C): the report covers what ran. */
  signal?: AbortSignal;
}

/**
 * The soak's mix: every operation of the three patterns on the embedded default's demo
 * namespaces, over bounded key spaces (KeyValue and Graph writes overwrite; TimeSeries writes
 * append, as real ones do), so memory that keeps growing is the gateway's, not the data's.
 *
 * @example soakScenario(300, 10).operations.length // 8
 */
export function soakScenario(rate: number, minutes: number): Scenario {
  return validateScenario({
    name: "soak",
    target: { gateway: {} },
    durationSeconds: minutes * 60,
    warmupSeconds: 0,
    rate,
    connections: 2,
    operations: [
      { op: "kv.get", weight: 30, keys: 2000, valueBytes: 256 },
      { op: "kv.put", weight: 15, keys: 2000, valueBytes: 256 },
      { op: "kv.scan", weight: 2, keys: 2000, records: 20 },
      { op: "ts.write", weight: 15, series: 20, batchSize: 10 },
      { op: "ts.read", weight: 8, series: 20, windowSeconds: 60 },
      { op: "graph.upsert", weight: 8, nodes: 500, edgesPerNode: 4, batchSize: 2 },
      { op: "graph.neighbors", weight: 15, nodes: 500, edgesPerNode: 4 },
      { op: "graph.traverse", weight: 7, nodes: 500, edgesPerNode: 4, depth: 2, limit: 100 },
    ],
  });
}

/**
 * Spawns a gateway, drives the soak mix at a fixed rate and samples the gateway's RSS, heap and
 * event-loop delay and the client's p99 every `sampleSeconds`; then fits the trends.
 *
 * @example const report = await runSoak({ minutes: 10, rate: 300, sampleSeconds: 5, warmupShare: 0.2, bounds })
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const scenario = soakScenario(options.rate, options.minutes);
  const gateway = await spawnGateway(options.config ? { config: options.config } : {});
  const sampler = new SoakSampler(gateway.pid, gateway.metricsUrl);
  const samples: SoakSample[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sampling = Promise.resolve();
  const startedAt = new Date();
  try {
    const load = await runScenario(scenario, gateway.address, {
      onComplete: sampler.record,
      ...(options.signal && { signal: options.signal }),
      onStart: () => {
        const start = performance.now();
        // Each sample is scheduled from the start, so the intervals do not drift.
        const next = (n: number) => {
          timer = setTimeout(
            () => {
              sampling = sampler.sample((performance.now() - start) / 1000).then((sample) => {
                samples.push(sample);
                options.onSample?.(sample, options);
              });
              next(n + 1);
            },
            Math.max(0, start + n * options.sampleSeconds * 1000 - performance.now()),
          );
        };
        next(1);
      },
    });
    clearTimeout(timer);
    await sampling;
    return buildSoakReport({
      startedAt,
      minutes: options.minutes,
      rate: options.rate,
      sampleSeconds: options.sampleSeconds,
      warmupShare: options.warmupShare,
      bounds: options.bounds,
      samples,
      load,
    });
  } finally {
    clearTimeout(timer);
    await gateway.stop();
  }
}
