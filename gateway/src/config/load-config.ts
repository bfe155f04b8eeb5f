import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { BackendDriver } from "@prism/core";
import { parse as parseYaml } from "yaml";
import { authProblems } from "../auth/auth-config.js";
import { workerProblems, workersInput } from "../cluster/worker-rules.js";
import { type GatewayConfig, gatewayConfigSchema } from "./gateway-config.js";
import { namespaceProblems, referenceProblems } from "./namespace-rules.js";
import { formatIssues } from "./namespace-spec.js";

/** A config that cannot start the gateway, with every problem found. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid gateway config:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/**
 * The embedded default: one SQLite file in the data directory, a memory backend, and a demo
 * namespace per pattern, listening on loopback only.
 */
export const EMBEDDED_DEFAULT = {
  backends: {
    local: { type: "sqlite", path: "prism.db" },
    memory: { type: "memory" },
  },
  namespaces: [
    { name: "demo-kv", pattern: "keyvalue", backend: "local" },
    { name: "demo-ts", pattern: "timeseries", backend: "local" },
    { name: "demo-graph", pattern: "graph", backend: "local" },
  ],
} as const;

/** Where the config comes from and which environment overrides apply. */
export interface ConfigSource {
  /** A YAML file; the embedded default when absent. */
  file?: string;
  env?: Record<string, string | undefined>;
}

/**
 * Reads, validates and freezes the gateway config. Every problem is reported at once: schema
 * errors, unknown backend types, bad backend options, dangling references, unsafe listeners.
 *
 * @example const config = loadConfig({ file: "prism.yaml", env: process.env }, drivers)
 */
export function loadConfig(source: ConfigSource, drivers: readonly BackendDriver[]): Readonly<GatewayConfig> {
  let raw: unknown = EMBEDDED_DEFAULT;
  if (source.file) {
    try {
      raw = parseYaml(readFileSync(source.file, "utf8")) ?? {};
    } catch (error) {
      throw new ConfigError([`${source.file}: ${(error as Error).message}`]);
    }
  }
  const env = source.env ?? {};
  const input = structuredClone(raw) as Record<string, unknown>;
  if (env.PRISM_GRPC_ADDR) input.listen = { ...(input.listen as object), grpc: env.PRISM_GRPC_ADDR };
  if (env.PRISM_METRICS_ADDR)
    input.metrics = { ...(input.metrics as object), listen: env.PRISM_METRICS_ADDR };
  if (env.PRISM_ADMIN_ADDR) input.admin = { ...(input.admin as object), listen: env.PRISM_ADMIN_ADDR };
  if (env.PRISM_DATA_DIR) input.dataDir = env.PRISM_DATA_DIR;
  if (env.PRISM_LOG_LEVEL) input.logLevel = env.PRISM_LOG_LEVEL;
  if (env.PRISM_WORKERS) input.workers = workersInput(env.PRISM_WORKERS);

  const parsed = gatewayConfigSchema.safeParse(input);
  if (!parsed.success)
    throw new ConfigError([...formatIssues(parsed.error), ...looseProblems(input, drivers)]);
  const config = parsed.data;
  const problems = [
    ...backendProblems(config, drivers),
    ...listenProblems(config),
    ...authProblems(config),
    ...deadlineProblems(config),
    ...adminProblems(config),
    ...workerProblems(config),
  ];
  const names = new Set<string>();
  config.namespaces.forEach((spec, i) => {
    if (names.has(spec.name)) problems.push(`namespaces.${i}.name: duplicate namespace ${spec.name}`);
    names.add(spec.name);
    for (const problem of namespaceProblems(spec, config, drivers))
      problems.push(`namespaces.${i}.${problem}`);
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/**
 * The cross-reference checks, run on a config that failed its schema somewhere else, so one
 * start lists every problem: backend options, and namespaces' backend references.
 */
function looseProblems(input: Record<string, unknown>, drivers: readonly BackendDriver[]): string[] {
  const backends: GatewayConfig["backends"] = {};
  if (input.backends && typeof input.backends === "object") {
    for (const [name, instance] of Object.entries(input.backends)) {
      const type = (instance as { type?: unknown } | null)?.type;
      if (typeof type === "string") backends[name] = instance as GatewayConfig["backends"][string];
    }
  }
  const problems = backendProblems({ backends }, drivers);
  if (Array.isArray(input.namespaces)) {
    input.namespaces.forEach((namespace: unknown, i) => {
      for (const problem of referenceProblems(namespace, { backends }, drivers))
        problems.push(`namespaces.${i}.${problem}`);
    });
  }
  return problems;
}

function backendProblems(
  config: Pick<GatewayConfig, "backends">,
  drivers: readonly BackendDriver[],
): string[] {
  const problems: string[] = [];
  for (const [name, { type, ...options }] of Object.entries(config.backends)) {
    const driver = drivers.find((d) => d.type === type);
    if (!driver) {
      problems.push(
        `backends.${name}.type: unknown backend type ${type} (known: ${drivers.map((d) => d.type).join(", ")})`,
      );
      continue;
    }
    for (const problem of driver.validate(options)) problems.push(`backends.${name}.${problem}`);
  }
  return problems;
}

/** Deadlines must nest: the default within the cap, and chunk sets outlive any call. */
function deadlineProblems(config: GatewayConfig): string[] {
  const problems: string[] = [];
  if (config.defaultDeadlineMs > config.maxDeadlineMs) {
    problems.push(
      `defaultDeadlineMs: ${config.defaultDeadlineMs} exceeds maxDeadlineMs (${config.maxDeadlineMs})`,
    );
  }
  if (config.keyvalue.chunkGraceMs <= config.maxDeadlineMs) {
    problems.push(
      `keyvalue.chunkGraceMs: must exceed maxDeadlineMs (${config.maxDeadlineMs}), or a slow call could lose the chunks it reads`,
    );
  }
  return problems;
}

/**
 * Serving beyond loopback without authentication would expose every namespace to the network;
 * the metrics endpoint follows the same rule (it has no authentication of its own).
 */
function listenProblems(config: GatewayConfig): string[] {
  if (config.auth.mode !== "none") return [];
  const problems: string[] = [];
  if (!isLoopback(hostOf(config.listen.grpc))) {
    problems.push(
      `listen.grpc: ${config.listen.grpc} is not a loopback address; refusing to serve it without authentication (set auth.mode)`,
    );
  }
  if (config.metrics.enabled && !isLoopback(hostOf(config.metrics.listen))) {
    problems.push(
      `metrics.listen: ${config.metrics.listen} is not a loopback address; refusing to serve metrics on it without authentication (set auth.mode)`,
    );
  }
  return problems;
}

/**
 * The admin UI needs a way to sign operators in before it may listen beyond loopback, and a
 * login it can perform: OIDC (browsers hold no gateway client certificate for mtls).
 */
function adminProblems(config: GatewayConfig): string[] {
  const { admin, auth } = config;
  if (admin.enabled === false) return [];
  const problems: string[] = [];
  if (admin.enabled && auth.mode === "mtls") {
    problems.push(
      "admin.enabled: the admin web UI signs operators in with OIDC; not served with auth.mode mtls",
    );
  }
  if (admin.enabled && auth.mode === "oidc" && !admin.oidc) {
    problems.push("admin.oidc: required with auth.mode oidc (the UI's client id at the issuer)");
  }
  if (adminEnabled(config) && auth.mode === "none" && !isLoopback(hostOf(admin.listen))) {
    problems.push(
      `admin.listen: ${admin.listen} is not a loopback address; refusing to serve the admin UI on it without authentication (set auth.mode oidc)`,
    );
  }
  return problems;
}

/** Whether the gateway serves the admin UI: `admin.enabled`, or by default when it can sign operators in. */
export function adminEnabled(config: Pick<GatewayConfig, "admin" | "auth">): boolean {
  const { admin, auth } = config;
  return admin.enabled ?? (auth.mode === "none" || (auth.mode === "oidc" && admin.oidc !== undefined));
}

const hostOf = (hostPort: string) => hostPort.slice(0, hostPort.lastIndexOf(":")).replace(/^\[|\]$/g, "");

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
