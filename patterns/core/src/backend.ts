import type { GraphBackend } from "./graph.js";
import type { KeyValueBackend } from "./keyvalue.js";
import type { TimeSeriesBackend } from "./timeseries.js";

/** The data-access patterns a backend may implement. */
export type PatternName = "keyvalue" | "timeseries" | "graph";

/** Result of a health probe. */
export interface HealthReport {
  ok: boolean;
  /** Why it is not ok, without driver details or credentials. */
  message?: string;
  latencyMs: number;
}

/**
 * A running backend instance (one per entry in the gateway config's `backends`).
 *
 * @example
 * const backend = await sqliteDriver.open({ name: "local", options: { path: "./data/prism.db" }, dataDir });
 * await backend.keyvalue?.put("demo-kv", "a", [{ key: new Uint8Array(), value }], {});
 */
export interface Backend {
  /** Instance name from the config, e.g. `pg-main`. */
  readonly name: string;
  /** Driver type, e.g. `postgres`. */
  readonly type: string;
  readonly keyvalue?: KeyValueBackend;
  readonly timeseries?: TimeSeriesBackend;
  readonly graph?: GraphBackend;
  /** Probes the store with a real round trip, bounded by `signal`. Never throws. */
  health(signal: AbortSignal): Promise<HealthReport>;
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;
}

/** What a driver gets to open one backend instance. */
export interface OpenContext {
  name: string;
  /** The instance's options from the config, already checked by `validate`. */
  options: Record<string, unknown>;
  /** A directory the gateway owns, for file-based stores. */
  dataDir: string;
}

/**
 * One backend package's entry point. The gateway holds a list of drivers; adding a backend is
 * adding its driver to that list.
 */
export interface BackendDriver {
  /** The `type` in the config that selects this driver. */
  readonly type: string;
  readonly patterns: readonly PatternName[];
  /** Every problem with `options`, as `field: message` strings; empty when valid. */
  validate(options: Record<string, unknown>): string[];
  open(context: OpenContext): Promise<Backend>;
}

/** Lists the capabilities a backend declares, as the stable names AdminService reports. */
export function capabilityNames(backend: Backend): string[] {
  const names: string[] = [];
  const kv = backend.keyvalue?.capabilities;
  if (kv?.ttl) names.push("keyvalue.ttl");
  if (kv?.atomicMutate) names.push("keyvalue.atomic-mutate");
  const ts = backend.timeseries?.capabilities;
  if (ts?.liveTail) names.push("timeseries.live-tail");
  if (ts?.nativeRetention) names.push("timeseries.native-retention");
  if (backend.graph?.capabilities.nativeTraversal) names.push("graph.native-traversal");
  return names;
}
