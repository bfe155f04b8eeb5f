import { GatewayConnections } from "./connections.js";
import { type EngineOptions, runMix } from "./engine.js";
import { type SpawnedGateway, spawnGateway } from "./gateway-process.js";
import { createOperation } from "./operations.js";
import { preload } from "./preload.js";
import { buildResult, type LoadtestResult } from "./result.js";
import type { Scenario, Target } from "./scenario.js";

/** Calls of each operation issued one by one before the schedule starts (not measured). */
const WARM_CALLS = 20;

/** Hooks a caller (the soak) puts into a run. */
export type RunHooks = Pick<EngineOptions, "onComplete" | "signal"> & {
  /** Called once the preload is done, right before the schedule starts. */
  onStart?: () => void;
};

/**
 * Runs `fn` against the scenario's target: a running gateway's address as is, or a gateway spawned
 * for the run (embedded default or `config`) that is stopped afterwards, whatever `fn` did.
 *
 * @example await withTarget(scenario.target, (address) => runScenario(scenario, address))
 */
export async function withTarget<T>(
  target: Target,
  fn: (address: string, gateway: SpawnedGateway | undefined) => Promise<T>,
): Promise<T> {
  if ("address" in target) return fn(target.address, undefined);
  const gateway = await spawnGateway(target.gateway.config ? { config: target.gateway.config } : {});
  try {
    return await fn(gateway.address, gateway);
  } finally {
    await gateway.stop();
  }
}

/**
 * One load test against `address`: connect, preload what reads need, drive the open-loop mix,
 * and build the result.
 *
 * @example const result = await runScenario(scenario, "127.0.0.1:8980")
 */
export async function runScenario(
  scenario: Scenario,
  address: string,
  hooks: RunHooks = {},
): Promise<LoadtestResult> {
  const connections = new GatewayConnections(address, scenario.connections);
  try {
    const preloaded = await preload(scenario.operations, connections);
    const operations = scenario.operations.map((spec, i) =>
      createOperation(spec, connections, scenario.seed * 1000 + i),
    );
    // A fresh gateway (and this client) compile each path on its first calls: seconds under tsx.
    // A few calls of each operation, one at a time, keep that out of the warm-up's queue.
    for (const operation of operations)
      for (let seq = 0; seq < WARM_CALLS; seq++) await operation.run(seq).catch(() => undefined);
    hooks.onStart?.();
    const startedAt = new Date();
    const run = await runMix(operations, {
      rate: scenario.rate,
      warmupMs: scenario.warmupSeconds * 1000,
      durationMs: scenario.durationSeconds * 1000,
      maxInFlight: scenario.maxInFlight,
      seed: scenario.seed,
      ...(hooks.onComplete && { onComplete: hooks.onComplete }),
      ...(hooks.signal && { signal: hooks.signal }),
    });
    return buildResult(run, {
      scenario: scenario.name,
      startedAt,
      target: address,
      rate: scenario.rate,
      durationSeconds: Math.round(run.elapsedMs / 100) / 10,
      warmupSeconds: scenario.warmupSeconds,
      connections: scenario.connections,
      maxInFlight: scenario.maxInFlight,
      preload: preloaded,
    });
  } finally {
    connections.close();
  }
}
