import { join } from "node:path";
import { PrismError } from "@prism/core";
import type { GatewayConfig } from "./gateway-config.js";
import type { NamespaceSpec } from "./namespace-spec.js";
import { SqliteConfigStore } from "./sqlite-config-store.js";

export { SqliteConfigStore } from "./sqlite-config-store.js";

/** A namespace applied through AdminService, as the store keeps it. */
export interface StoredNamespace {
  spec: NamespaceSpec;
  version: number;
  /** Epoch ms. */
  updatedAt: number;
}

/** One version of a registered .proto file (AdminService.RegisterSchema). */
export interface StoredSchemaFile {
  /** The file's name in its descriptor, e.g. `acme/v1/user_profile.proto`. */
  name: string;
  /** 1 for the first registration, +1 per compatible change. */
  version: number;
  /** Epoch ms. */
  registeredAt: number;
  /** The serialized google.protobuf.FileDescriptorProto. */
  descriptor: Uint8Array;
}

/**
 * A small piece of runtime state gateways share through the config store: backfill jobs and their
 * checkpoints, each gateway's shadow-traffic counters. Not a namespace change: writing it neither
 * bumps the generation nor notifies watchers.
 */
export interface StoredState {
  /** What it is, e.g. `backfill` or `shadow-stats`; 1-64 characters of a-z, 0-9 and `-`. */
  kind: string;
  /** Its name within the kind, 1-512 characters. */
  key: string;
  /** Any JSON value, at most 64 KiB serialized. */
  value: unknown;
  /** 1 when created, +1 per put: what `expectVersion` compares with. */
  version: number;
  /** Epoch ms of the last put. */
  updatedAt: number;
}

/** A schema file version to add: `version` is one more than the newest stored (1 when new). */
export type NewSchemaFile = Omit<StoredSchemaFile, "registeredAt">;

/**
 * Where applied namespaces and registered schemas live, shared by every gateway configured with the same store. Every
 * change bumps a generation counter in the same transaction, and `watch` tells subscribers that
 * something may have changed; they reload (a spurious notification costs one reload, a missed one
 * would leave a gateway serving stale routing, so implementations err on the side of notifying).
 */
export interface ConfigStore {
  /**
   * Every stored namespace, by name.
   *
   * @example for (const { spec } of await store.list()) console.log(spec.name)
   */
  list(): Promise<StoredNamespace[]>;

  /**
   * One namespace, or undefined.
   *
   * @example const stored = await store.get("user-profiles")
   */
  get(name: string): Promise<StoredNamespace | undefined>;

  /**
   * Creates or replaces a namespace (version 1, then +1 per put) and bumps the generation.
   *
   * @example const { version } = await store.put({ name: "kv", pattern: "keyvalue", backend: "local" })
   */
  put(spec: NamespaceSpec): Promise<StoredNamespace>;

  /**
   * Deletes a namespace and bumps the generation; false (and no bump) when it was not there.
   *
   * @example if (!(await store.delete("kv"))) throw notFound()
   */
  delete(name: string): Promise<boolean>;

  /**
   * The newest version of every registered schema file, by name.
   *
   * @example const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: (await store.schemaFiles()).map(decode) }))
   */
  schemaFiles(): Promise<StoredSchemaFile[]>;

  /**
   * Adds new versions of schema files, all or none, and bumps the generation (namespaces decode
   * with the newest versions). Older versions stay stored. When a file's newest stored version is
   * not `version - 1` (another gateway registered first), stores nothing and throws `Conflict`.
   * Returns the registration time (epoch ms).
   *
   * @example await store.addSchemaFiles([{ name: "acme/v1/user_profile.proto", version: 2, descriptor }])
   */
  addSchemaFiles(files: readonly NewSchemaFile[]): Promise<number>;

  /**
   * Creates or replaces one piece of shared state. With `expectVersion`, writes only when the
   * stored version is exactly that (0 = only when absent) and otherwise throws `Conflict`
   * (compare-and-set: two gateways claiming the same job, only one wins).
   *
   * @example const job = await store.putState("backfill", id, value, current.version)
   */
  putState(kind: string, key: string, value: unknown, expectVersion?: number): Promise<StoredState>;

  /**
   * One piece of shared state, or undefined.
   *
   * @example const job = await store.getState("backfill", id)
   */
  getState(kind: string, key: string): Promise<StoredState | undefined>;

  /**
   * Every piece of state of a kind whose key starts with `keyPrefix` (all when omitted), by key.
   *
   * @example const perGateway = await store.listState("shadow-stats", "user-profiles/")
   */
  listState(kind: string, keyPrefix?: string): Promise<StoredState[]>;

  /**
   * Deletes one piece of state; false when it was not there.
   *
   * @example await store.deleteState("shadow-stats", `${namespace}/${gatewayId}`)
   */
  deleteState(kind: string, key: string): Promise<boolean>;

  /**
   * A counter that moves on every change: compare it with the one seen at the last reload.
   *
   * @example if ((await store.generation()) !== seen) await reload()
   */
  generation(): Promise<number>;

  /**
   * Calls `onChange` after the store changed, from this process or any other sharing the store,
   * and after anything that may have hidden a change (a reconnect). Returns the unsubscribe.
   *
   * @example const stop = store.watch(() => void registry.refresh()); stop();
   */
  watch(onChange: () => void): () => void;

  /**
   * Stops watching and releases connections or files. Idempotent.
   *
   * @example await store.close()
   */
  close(): Promise<void>;
}

/** What both stores throw when another registration of the same file won. */
export function schemaVersionConflict(name: string): PrismError {
  return new PrismError(
    "Conflict",
    `schema file ${JSON.stringify(name.slice(0, 200))} was registered concurrently; register again`,
    { metadata: { file: name.slice(0, 200) } },
  );
}

/** Bytes as the drivers bind them (a Buffer view, no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Logging the stores do on their own (reconnects); the gateway passes its pino logger. */
export interface StoreLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * Opens the store the gateway config names: SQLite under the data directory (default) or PostgreSQL.
 *
 * @example const store = await openConfigStore(config, logger)
 */
export async function openConfigStore(
  config: Pick<GatewayConfig, "dataDir" | "configStore">,
  logger: StoreLogger,
): Promise<ConfigStore> {
  const settings = config.configStore;
  if (settings.type === "postgres") {
    // Loaded only when configured: most gateways never need pg for their config store.
    const { PostgresConfigStore } = await import("./postgres-config-store.js");
    return PostgresConfigStore.open(settings, logger);
  }
  return new SqliteConfigStore(join(config.dataDir, settings.path), settings.pollIntervalMs);
}
