import { randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { type Backend, type BackendDriver, PrismError } from "@prism/core";
import { perProcessProblems, workerCount } from "../cluster/worker-rules.js";
import type { ConfigStore, StoredNamespace } from "../config/config-store.js";
import type { GatewayConfig } from "../config/gateway-config.js";
import { namespaceProblems, referenceProblems } from "../config/namespace-rules.js";
import { formatIssues, type NamespaceSpec, namespaceSpecSchema } from "../config/namespace-spec.js";
import type { Logger } from "../log.js";
import type { ValuePolicy } from "../pii/contract.js";
import { namespaceValuePolicy, schemaProblems, servingProblem } from "../pii/namespace-values.js";
import { type RegisteredFile, registerSchemaSet, SchemaCatalog } from "../pii/schema-catalog.js";
import type { ValuePolicySettings } from "../pii/schema-values.js";
import { HedgeCounters, hedged } from "../resilience/hedged.js";
import { RetryBudget } from "../resilience/retry-budget.js";
import { ShadowRuntime } from "../shadow/shadow-runtime.js";
import { Admission } from "./admission.js";
import { Binding } from "./binding.js";
import { type ResolvedNamespace, timeSeriesSettings, violationOf } from "./resolved-namespace.js";

/** How often the registry compares the store's generation with its own even without notifications. */
const SAFETY_POLL_MS = 10_000;

/**
 * name → namespace, for every request. Reads are a Map lookup on an immutable snapshot; a reload
 * (after an apply here, or when the config store reports a change from any gateway) swaps the
 * snapshot, so in-flight requests keep the namespace they started with. Reloads run one at a time.
 *
 * @example const registry = new NamespaceRegistry(config, drivers, backends, store, logger); await registry.start();
 */
export class NamespaceRegistry {
  private snapshot = new Map<string, ResolvedNamespace>();
  private generation = -1;
  private poller: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private catalog = SchemaCatalog.EMPTY;
  /** Value policies of the current catalog, by message name (shared by namespaces). */
  private policies = new Map<string, ValuePolicy | undefined>();
  /** Shadow traffic of the namespaces that have a shadow (queues, counters), across reloads. */
  readonly shadows: ShadowRuntime;

  /** Serves the config-file namespaces at once; `start` adds the stored ones. */
  constructor(
    private readonly config: Readonly<GatewayConfig>,
    private readonly drivers: readonly BackendDriver[],
    private readonly backends: ReadonlyMap<string, Backend>,
    private readonly store: ConfigStore,
    private readonly logger: Logger,
    /** What schema namespaces' value policies use: cipher, audit sink, HASH mask key. */
    private readonly valueSettings: ValuePolicySettings = { hashKey: randomBytes(32) },
  ) {
    this.shadows = new ShadowRuntime(config.shadow, store, logger);
    this.snapshot = this.build([]);
  }

  /**
   * Loads the stored namespaces, then follows the store: a reload on each change notification,
   * plus a slow generation poll as a safety net for a notification that never came.
   */
  async start(safetyPollMs = SAFETY_POLL_MS): Promise<void> {
    // Watch before the first load, so a change committed during it is not missed.
    this.unwatch = this.store.watch(() => void this.refreshLogged());
    this.poller = setInterval(() => void this.refreshLogged(), safetyPollMs);
    this.poller.unref();
    this.shadows.start();
    try {
      await this.reload();
    } catch (error) {
      this.stop();
      throw error;
    }
  }

  /** Stops following the store (the snapshot stays as it is). */
  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    clearInterval(this.poller);
  }

  /**
   * The namespace `name` as currently served, or undefined: a Map lookup with no rate-limit or
   * pattern check (data requests get those from the pipeline's resolve and rate-limit steps).
   *
   * @example const namespace = registry.get("demo-kv")
   */
  get(name: string): ResolvedNamespace | undefined {
    return this.snapshot.get(name);
  }

  list(): ResolvedNamespace[] {
    return [...this.snapshot.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name));
  }

  /**
   * Validates and stores a namespace, then reloads. Config-file namespaces are read-only here.
   * Returns the stored namespace and whether it was new.
   */
  async apply(input: unknown, dryRun = false): Promise<{ namespace: ResolvedNamespace; created: boolean }> {
    // Schemas registered through another gateway since the last reload count.
    await this.refresh();
    const spec = this.validate(input);
    this.refuseInWorkers(spec);
    const existing = this.snapshot.get(spec.name);
    if (existing?.source === "config") {
      throw new PrismError(
        "FailedPrecondition",
        `namespace ${spec.name} is declared in the gateway config file`,
        {
          reason: "NAMESPACE_READ_ONLY",
          metadata: { namespace: spec.name },
        },
      );
    }
    if (dryRun) {
      const stored = await this.store.get(spec.name);
      return {
        namespace: this.resolveSpec(spec, "store", stored?.version ?? 0, Date.now(), existing, true),
        created: !stored,
      };
    }
    const stored = await this.store.put(spec);
    await this.reload();
    // Another gateway may have changed it again since; answer with what this apply stored.
    const namespace =
      this.snapshot.get(spec.name) ??
      this.resolveSpec(spec, "store", stored.version, stored.updatedAt, existing);
    return { namespace, created: stored.version === 1 };
  }

  /** Deletes an applied namespace (its data stays in the backend). */
  async delete(name: string): Promise<void> {
    const existing = this.snapshot.get(name);
    if (existing?.source === "config") {
      throw new PrismError("FailedPrecondition", `namespace ${name} is declared in the gateway config file`, {
        reason: "NAMESPACE_READ_ONLY",
        metadata: { namespace: name },
      });
    }
    if (!(await this.store.delete(name))) {
      throw new PrismError("NotFound", `namespace ${name} does not exist`, { reason: "NAMESPACE_NOT_FOUND" });
    }
    await this.reload();
  }

  /**
   * Registers a FileDescriptorSet (AdminService.RegisterSchema): versions each changed file after
   * checking it against the newest stored version and the namespaces using its messages, then
   * reloads so schema namespaces decode with it.
   */
  async registerSchemas(setBytes: Uint8Array): Promise<{ files: RegisteredFile[]; messageNames: string[] }> {
    const specs = [...this.config.namespaces, ...(await this.store.list()).map((stored) => stored.spec)];
    const inUse = new Set(specs.flatMap((spec) => (spec.schema === undefined ? [] : [spec.schema])));
    const result = await registerSchemaSet(this.store, setBytes, inUse, (message) =>
      servingProblem(message, this.valueSettings),
    );
    await this.reload();
    return result;
  }

  /** The registered schema files (newest versions) and their message names. */
  async schemas(): Promise<{ files: RegisteredFile[]; messageNames: string[] }> {
    await this.refresh();
    const files = this.catalog.files.map(({ name, version, registeredAt }) => ({
      name,
      version,
      registeredAt,
    }));
    return { files, messageNames: this.catalog.messageNames() };
  }

  /**
   * Rebuilds the snapshot from the config file and the store. Resolves after a rebuild that began
   * after this call (so it includes any change committed before it); concurrent calls share one.
   */
  reload(): Promise<void> {
    if (!this.running) {
      this.running = this.rebuild().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.reload();
      });
    return this.queued;
  }

  /** Reloads when the store's generation moved since the last reload; true when it did. */
  async refresh(): Promise<boolean> {
    if ((await this.store.generation()) === this.generation) return false;
    await this.reload();
    return true;
  }

  private async refreshLogged(): Promise<void> {
    try {
      if (await this.refresh()) {
        this.logger.info(
          { namespaces: this.snapshot.size, generation: this.generation },
          "namespace registry reloaded",
        );
      }
    } catch (error) {
      this.logger.error({ err: (error as Error).message }, "namespace registry reload failed");
    }
  }

  private async rebuild(): Promise<void> {
    // Generation first: a change landing between the two reads leaves it behind the list, and the
    // next refresh reloads again (never the other way round, which could hide the change).
    const generation = await this.store.generation();
    const stored = await this.store.list();
    const files = await this.store.schemaFiles();
    // Resolved again only when a file changed: reloads are frequent, schema changes are not.
    if (SchemaCatalog.keyOf(files) !== this.catalog.key) {
      const catalog = SchemaCatalog.of(files);
      if (catalog.problem)
        this.logger.error({ problem: catalog.problem }, "registered schemas do not resolve");
      this.catalog = catalog;
      this.policies = new Map();
    }
    this.snapshot = this.build(stored);
    this.generation = generation;
  }

  private build(stored: readonly StoredNamespace[]): Map<string, ResolvedNamespace> {
    const next = new Map<string, ResolvedNamespace>();
    for (const spec of this.config.namespaces) {
      next.set(spec.name, this.resolveSpec(spec, "config", 0, 0, this.snapshot.get(spec.name)));
    }
    for (const { spec, version, updatedAt } of stored) {
      if (next.has(spec.name)) continue;
      const problems = [...this.problemsOf(spec), ...this.workerProblemsOf(spec)];
      if (problems.length > 0) {
        this.logger.error({ namespace: spec.name, problems }, "stored namespace is invalid; not serving it");
        continue;
      }
      next.set(spec.name, this.resolveSpec(spec, "store", version, updatedAt, this.snapshot.get(spec.name)));
    }
    this.shadows.retain(new Set([...next.values()].filter((n) => n.spec.shadow).map((n) => n.spec.name)));
    return next;
  }

  private validate(input: unknown): NamespaceSpec {
    const parsed = namespaceSpecSchema.safeParse(input);
    const problems = parsed.success
      ? this.problemsOf(parsed.data)
      : [...formatIssues(parsed.error), ...referenceProblems(input, this.config, this.drivers)];
    if (!parsed.success || problems.length > 0) {
      throw new PrismError("InvalidArgument", `invalid namespace: ${problems.join("; ")}`, {
        reason: "INVALID_NAMESPACE",
        violations: problems.map(violationOf),
      });
    }
    return parsed.data;
  }

  /** Per-process state the namespace would have in each of several workers (ADR-0028). */
  private workerProblemsOf(spec: NamespaceSpec): string[] {
    return workerCount(this.config) > 1 ? perProcessProblems(spec, this.config.backends) : [];
  }

  private refuseInWorkers(spec: NamespaceSpec): void {
    const problems = this.workerProblemsOf(spec);
    if (problems.length === 0) return;
    const workers = String(workerCount(this.config));
    throw new PrismError(
      "FailedPrecondition",
      `namespace ${spec.name} cannot be served by ${workers} gateway workers: ${problems.join("; ")}`,
      { reason: "PER_PROCESS_STATE", metadata: { namespace: spec.name, workers } },
    );
  }

  private problemsOf(spec: NamespaceSpec): string[] {
    return [
      ...namespaceProblems(spec, this.config, this.drivers),
      ...schemaProblems(spec, this.catalog, this.valueSettings),
    ];
  }

  /** The namespace's value policy, built once per schema and catalog. */
  private valuesOf(spec: NamespaceSpec): ValuePolicy | undefined {
    if (spec.schema === undefined) return undefined;
    if (!this.policies.has(spec.schema)) {
      // Keyed by message name; a refusing policy (schema not servable) is not cached.
      const policy = namespaceValuePolicy(spec, this.catalog, this.valueSettings);
      if (schemaProblems(spec, this.catalog, this.valueSettings).length > 0) return policy;
      this.policies.set(spec.schema, policy);
    }
    return this.policies.get(spec.schema);
  }

  private resolveSpec(
    spec: NamespaceSpec,
    source: "config" | "store",
    version: number,
    updatedAt: number,
    previous: ResolvedNamespace | undefined,
    /** A dry run leaves the namespace's shadow traffic alone. */
    dryRun = false,
  ): ResolvedNamespace {
    const limits = {
      rps: spec.limits?.rps,
      principalRps: spec.limits?.principal_rps,
      concurrency: spec.limits?.concurrency,
    };
    const limited = Object.values(limits).some((limit) => limit !== undefined);
    // Kept while unchanged, so a reload neither refills the buckets nor forgets calls in progress.
    const admission = !limited
      ? undefined
      : previous?.admission?.sameAs(limits)
        ? previous.admission
        : new Admission(limits);
    const shadow = spec.shadow ? this.backends.get(spec.shadow.backend) : undefined;
    const shadowState = shadow && !dryRun ? this.shadows.stateFor(spec, version) : undefined;
    const hedge = spec.hedge && { afterMs: spec.hedge.after_ms, maxRatio: spec.hedge.max_ratio };
    // Kept while the setting is unchanged, like the admission buckets.
    const hedges = !hedge
      ? undefined
      : previous?.hedges && isDeepStrictEqual(previous.spec.hedge, spec.hedge)
        ? previous.hedges
        : new HedgeCounters(new RetryBudget({ ratio: hedge.maxRatio, minPerSecond: 1 }));
    const primary = this.backends.get(spec.backend)!;
    return Object.freeze({
      spec,
      source,
      version,
      updatedAt,
      binding: new Binding(hedge && hedges ? hedged(primary, hedge, hedges) : primary, shadow, shadowState),
      hedges,
      maxValueBytes:
        spec.limits?.max_value_bytes ??
        (spec.pattern === "timeseries"
          ? this.config.timeseries.maxPayloadBytes
          : this.config.keyvalue.maxValueBytes),
      admission,
      timeseries: spec.pattern === "timeseries" ? timeSeriesSettings(spec, this.config) : undefined,
      graphVisitBudget: spec.limits?.visit_budget ?? this.config.graph.visitBudget,
      values: this.valuesOf(spec),
    });
  }
}
