import { availableParallelism } from "node:os";
import type { GatewayConfig } from "../config/gateway-config.js";
import type { NamespaceSpec } from "../config/namespace-spec.js";

/**
 * How many gateway processes the config asks for: `workers`, with `auto` = the machine's cores
 * (`os.availableParallelism()`, which honours the CPU affinity the process was given).
 *
 * @example if (workerCount(config) > 1) await superviseWorkers(config, source);
 */
export function workerCount(config: Pick<GatewayConfig, "workers">): number {
  return config.workers === "auto" ? availableParallelism() : config.workers;
}

/**
 * `PRISM_WORKERS` / `--workers` as config input: `auto`, or a number (anything else is left as
 * text for the schema to refuse with its own message).
 *
 * @example input.workers = workersInput(env.PRISM_WORKERS)
 */
export function workersInput(text: string): number | string {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** What a namespace needs to be checked against workers: its backends and admission limits. */
export type PerProcessFields = Pick<NamespaceSpec, "backend" | "shadow" | "limits">;

/**
 * Why a namespace cannot be served by several gateway processes: state that lives in one process
 * would silently diverge between them (ADR-0028). A `memory` backend (primary or shadow) keeps
 * its records in the process that wrote them; admission limits (`rps`, `principal_rps`,
 * `concurrency`) count in the process that admits the call, so N workers would allow N times
 * the limit. Empty when the namespace is fine.
 *
 * @example perProcessProblems(spec, config.backends) // ["backend mem is of type memory: …"]
 */
export function perProcessProblems(
  spec: PerProcessFields,
  backends: Readonly<GatewayConfig["backends"]>,
): string[] {
  const problems: string[] = [];
  const memory = (field: string, name: string) => {
    if (backends[name]?.type === "memory") {
      problems.push(
        `${field}: backend ${name} is of type memory, whose data lives in one process: each worker would hold different records; use a sqlite or postgres backend, or run one worker`,
      );
    }
  };
  memory("backend", spec.backend);
  if (spec.shadow) memory("shadow.backend", spec.shadow.backend);
  const limits = spec.limits;
  const perProcess = (["rps", "principal_rps", "concurrency"] as const).filter(
    (limit) => limits?.[limit] !== undefined,
  );
  for (const limit of perProcess) {
    problems.push(
      `limits.${limit}: admission limits are counted in each process, so every worker would admit the whole limit; remove it (limit at the load balancer) or run one worker`,
    );
  }
  return problems;
}

/**
 * The config problems of running several workers: a port every worker can bind (port 0 would be
 * a different one per process), and no config-file namespace with per-process state.
 */
export function workerProblems(
  config: Pick<GatewayConfig, "workers" | "listen" | "backends" | "namespaces">,
): string[] {
  const workers = workerCount(config);
  if (workers <= 1) return [];
  const problems: string[] = [];
  if (/:0+$/.test(config.listen.grpc)) {
    problems.push(
      `listen.grpc: port 0 (any free port) cannot be shared by ${workers} workers and their restarts; set a fixed port`,
    );
  }
  config.namespaces.forEach((spec, i) => {
    for (const problem of perProcessProblems(spec, config.backends)) {
      problems.push(`namespaces.${i} (${spec.name}) with ${workers} workers: ${problem}`);
    }
  });
  return problems;
}
