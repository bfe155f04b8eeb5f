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

/**
 * What the gateway needs of a backend type before it opens one — its name, patterns and option
 * check — without loading the package's client library. `load` brings in the driver itself.
 * Each heavy package exports one from `./manifest`.
 */
export interface DriverManifest {
  readonly type: string;
  readonly patterns: readonly PatternName[];
  validate(options: Record<string, unknown>): string[];
  load(): Promise<BackendDriver>;
}

/**
 * A driver that imports its package only when a backend of its type is opened: a gateway whose
 * config names no Kafka backend never loads kafkajs (nor pg, nats.js or gremlin likewise).
 *
 * @example export const DRIVERS = [memoryDriver, lazyDriver(postgresManifest)];
 */
export function lazyDriver(manifest: DriverManifest): BackendDriver {
  let loading: Promise<BackendDriver> | undefined;
  return {
    type: manifest.type,
    patterns: manifest.patterns,
    validate: (options) => manifest.validate(options),
    async open(context) {
      loading ??= manifest.load();
      return (await loading).open(context);
    },
  };
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
