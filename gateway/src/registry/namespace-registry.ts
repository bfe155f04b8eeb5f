import { type Backend, type BackendDriver, type PatternName, PrismError } from "@prism/core";
import type { SqliteConfigStore } from "../config/config-store.js";
import type { GatewayConfig } from "../config/gateway-config.js";
import { namespaceProblems, referenceProblems } from "../config/namespace-rules.js";
import { formatIssues, type NamespaceSpec, namespaceSpecSchema } from "../config/namespace-spec.js";
import type { Logger } from "../log.js";
import { Binding } from "./binding.js";
import { RateLimiter } from "./rate-limiter.js";

/** A namespace ready to serve: its spec, where it came from, and its binding. */
export interface ResolvedNamespace {
  readonly spec: NamespaceSpec;
  readonly source: "config" | "store";
  readonly version: number;
  readonly updatedAt: number;
  readonly binding: Binding;
  /** Largest value accepted, from the namespace's limits or the gateway default. */
  readonly maxValueBytes: number;
  readonly limiter: RateLimiter | undefined;
}

/**
 * name → namespace, for every request. Reads are a Map lookup on an immutable snapshot; a reload
 * (after an apply here, or another gateway's change seen by polling the config store) swaps the
 * snapshot, so in-flight requests keep the namespace they started with.
 */
export class NamespaceRegistry {
  private snapshot = new Map<string, ResolvedNamespace>();
  private generation = -1;
  private poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: Readonly<GatewayConfig>,
    private readonly drivers: readonly BackendDriver[],
    private readonly backends: ReadonlyMap<string, Backend>,
    private readonly store: SqliteConfigStore,
    private readonly logger: Logger,
  ) {
    this.reload();
  }

  /**
   * The namespace `name` serving `pattern`, or a typed error: InvalidArgument for an empty name,
   * NotFound for an unknown one, InvalidArgument for the wrong pattern, ResourceExhausted over
   * its rate limit.
   */
  resolve(name: string, pattern: PatternName): ResolvedNamespace {
    const namespace = this.snapshot.get(name);
    if (!namespace) {
      if (name === "") {
        throw new PrismError("InvalidArgument", "namespace is required", {
          reason: "NAMESPACE_REQUIRED",
          field: "namespace",
        });
      }
      throw new PrismError("NotFound", `namespace ${JSON.stringify(name.slice(0, 100))} does not exist`, {
        reason: "NAMESPACE_NOT_FOUND",
        field: "namespace",
        metadata: { namespace: name.slice(0, 100) },
      });
    }
    if (namespace.spec.pattern !== pattern) {
      throw new PrismError(
        "InvalidArgument",
        `namespace ${name} serves the ${namespace.spec.pattern} pattern, not ${pattern}`,
        {
          reason: "WRONG_PATTERN",
          field: "namespace",
          metadata: { namespace: name, pattern: namespace.spec.pattern },
        },
      );
    }
    if (namespace.limiter && !namespace.limiter.tryTake()) {
      throw new PrismError("ResourceExhausted", `namespace ${name} is over its rate limit`, {
        reason: "RATE_LIMITED",
        metadata: { namespace: name, rps: String(namespace.limiter.rps) },
      });
    }
    return namespace;
  }

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
  apply(input: unknown, dryRun = false): { namespace: ResolvedNamespace; created: boolean } {
    const spec = this.validate(input);
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
      return {
        namespace: this.resolveSpec(spec, "store", existing?.version ?? 0, Date.now(), existing),
        created: !existing,
      };
    }
    this.store.put(spec);
    this.reload();
    return { namespace: this.snapshot.get(spec.name)!, created: !existing };
  }

  /** Deletes an applied namespace (its data stays in the backend). */
  delete(name: string): void {
    const existing = this.snapshot.get(name);
    if (existing?.source === "config") {
      throw new PrismError("FailedPrecondition", `namespace ${name} is declared in the gateway config file`, {
        reason: "NAMESPACE_READ_ONLY",
        metadata: { namespace: name },
      });
    }
    if (!this.store.delete(name)) {
      throw new PrismError("NotFound", `namespace ${name} does not exist`, { reason: "NAMESPACE_NOT_FOUND" });
    }
    this.reload();
  }

  /** Rebuilds the snapshot from the config file and the store. */
  reload(): void {
    const generation = this.store.generation();
    const next = new Map<string, ResolvedNamespace>();
    for (const spec of this.config.namespaces) {
      next.set(spec.name, this.resolveSpec(spec, "config", 0, 0, this.snapshot.get(spec.name)));
    }
    for (const stored of this.store.list()) {
      if (next.has(stored.spec.name)) continue;
      const problems = [...this.problemsOf(stored.spec)];
      if (problems.length > 0) {
        this.logger.error(
          { namespace: stored.spec.name, problems },
          "stored namespace is invalid; not serving it",
        );
        continue;
      }
      const previous = this.snapshot.get(stored.spec.name);
      next.set(
        stored.spec.name,
        this.resolveSpec(stored.spec, "store", stored.version, stored.updatedAt, previous),
      );
    }
    this.snapshot = next;
    this.generation = generation;
  }

  /** Polls the store so changes made through other gateways take effect here. */
  startPolling(intervalMs: number): void {
    this.poller = setInterval(() => {
      try {
        if (this.store.generation() !== this.generation) {
          this.reload();
          this.logger.info({ namespaces: this.snapshot.size }, "namespace registry reloaded");
        }
      } catch (error) {
        this.logger.error({ err: (error as Error).message }, "namespace registry reload failed");
      }
    }, intervalMs);
    this.poller.unref();
  }

  stopPolling(): void {
    clearInterval(this.poller);
  }

  private validate(input: unknown): NamespaceSpec {
    const parsed = namespaceSpecSchema.safeParse(input);
    const problems = parsed.success
      ? this.problemsOf(parsed.data)
      : [...formatIssues(parsed.error), ...referenceProblems(input, this.config, this.drivers)];
    if (!parsed.success || problems.length > 0) {
      throw new PrismError("InvalidArgument", `invalid namespace: ${problems.join("; ")}`, {
        reason: "INVALID_NAMESPACE",
      });
    }
    return parsed.data;
  }

  private problemsOf(spec: NamespaceSpec): string[] {
    return namespaceProblems(spec, this.config, this.drivers);
  }

  private resolveSpec(
    spec: NamespaceSpec,
    source: "config" | "store",
    version: number,
    updatedAt: number,
    previous: ResolvedNamespace | undefined,
  ): ResolvedNamespace {
    const rps = spec.limits?.rps;
    const limiter =
      rps === undefined
        ? undefined
        : previous?.limiter?.rps === rps
          ? previous.limiter
          : new RateLimiter(rps);
    const shadow = spec.shadow ? this.backends.get(spec.shadow.backend) : undefined;
    return Object.freeze({
      spec,
      source,
      version,
      updatedAt,
      binding: new Binding(this.backends.get(spec.backend)!, shadow),
      maxValueBytes: spec.limits?.max_value_bytes ?? this.config.keyvalue.maxValueBytes,
      limiter,
    });
  }
}
