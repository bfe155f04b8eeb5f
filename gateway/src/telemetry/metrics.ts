import type { Backend } from "@prism/core";
import { AggregatorRegistry, collectDefaultMetrics, Registry } from "prom-client";
import type { ConfigStore } from "../config/config-store.js";
import type { Logger } from "../log.js";
import type { NamespaceRegistry } from "../registry/namespace-registry.js";
import type { CircuitBreakers } from "../resilience/circuit-breaker.js";
import type { Retries } from "../resilience/retrying.js";
import { BACKFILL_KIND, type BackfillRecord } from "../shadow/backfill.js";
import type { ShadowState } from "../shadow/shadow-state.js";
import { BackendMetrics } from "./backend-metrics.js";
import { instrumented } from "./instrumented.js";
import { collected, type Sample } from "./instruments.js";
import { RequestMetrics } from "./request-metrics.js";

/** How long a scrape waits for the config store's backfill jobs before leaving them out. */
const BACKFILL_READ_MS = 1000;

/**
 * Process metrics (prom-client's defaults: event-loop lag, heap, RSS, GC, handles, CPU) under
 * their usual names, so stock Node.js dashboards work. One set per process, shared by every
 * gateway it runs (tests start several), made on first use.
 */
let processRegistry: Registry | undefined;

function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Where shadow and backfill series come from, read at scrape time. */
const CIRCUIT_VALUES = { closed: 0, "half-open": 1, open: 2 } as const;

export interface ShadowSources {
  registry: NamespaceRegistry;
  store: ConfigStore;
  /** The backends' circuit breakers, when on. */
  breakers?: CircuitBreakers;
  /** Retry budgets per backend. */
  retries?: Retries;
}

/**
 * The gateway's Prometheus metrics (issue 12): requests through the pipeline
 * ({@link RequestMetrics}), backends ({@link BackendMetrics}), shadow traffic and backfill
 * progress per namespace, and the process. Everything but the request and backend-call counters
 * is read when scraped. Label values are config names, method names, fixed codes and reasons,
 * and names of namespaces the registry serves — never ids, keys, values or principals.
 *
 * @example const metrics = new GatewayMetrics(backends, logger); … metrics.watch({ registry, store }); await metrics.render();
 */
export class GatewayMetrics {
  private readonly registry = new Registry();
  readonly requests = new RequestMetrics(this.registry);
  readonly backends: BackendMetrics;
  private sources: ShadowSources | undefined;

  constructor(
    backends: ReadonlyMap<string, Backend>,
    private readonly logger: Logger,
  ) {
    this.backends = new BackendMetrics(this.registry, backends);
    processMetrics();
    this.shadowSeries();
    this.backfillSeries();
    this.circuitSeries();
    this.resilienceSeries();
  }

  /** Puts the timing layer over an opened backend (`layerBackends`' `instrument`). */
  readonly instrument = (backend: Backend): Backend => instrumented(backend, this.backends.hooks);

  /** Starts reporting the shadow traffic and backfills of `registry`'s namespaces. */
  watch(sources: ShadowSources): void {
    this.sources = sources;
  }

  /**
   * In a cluster worker (ADR-0028): answers the supervisor's scrapes (prom-client's
   * `AggregatorRegistry`, over the cluster IPC channel) with this process's series, which the
   * supervisor sums (or takes the max of) across workers.
   */
  reportToPrimary(): void {
    AggregatorRegistry.setRegistries([processMetrics(), this.registry]);
    // Constructing one installs the worker's listener for the supervisor's requests.
    new AggregatorRegistry();
  }

  /** The Prometheus text exposition of everything (process metrics first). */
  async render(): Promise<{ contentType: string; body: string }> {
    const [process, gateway] = await Promise.all([processMetrics().metrics(), this.registry.metrics()]);
    return { contentType: this.registry.contentType, body: `${process}\n${gateway}` };
  }

  private shadowSeries(): void {
    const states = (): [string, ShadowState][] => {
      const registry = this.sources?.registry;
      if (!registry) return [];
      return registry.list().flatMap(({ spec }) => {
        const state = spec.shadow ? registry.shadows.get(spec.name) : undefined;
        return state ? [[spec.name, state] as [string, ShadowState]] : [];
      });
    };
    collected(
      this.registry,
      {
        name: "prism_shadow_writes_total",
        help: "Writes mirrored to the namespace's shadow by this gateway: ok, failed or dropped (queue full).",
        type: "counter",
      },
      () =>
        states().flatMap(([namespace, { counters }]) => [
          { labels: { namespace, result: "ok" }, value: counters.writesOk },
          { labels: { namespace, result: "failed" }, value: counters.writesFailed },
          { labels: { namespace, result: "dropped" }, value: counters.writesDropped },
        ]),
    );
    collected(
      this.registry,
      {
        name: "prism_shadow_queue_depth",
        help: "Writes waiting for the shadow on this gateway.",
        type: "gauge",
      },
      () => states().map(([namespace, state]) => ({ labels: { namespace }, value: state.queue.depth })),
    );
    collected(
      this.registry,
      {
        name: "prism_shadow_reads_total",
        help: "Sampled reads compared with the shadow by this gateway: matched, mismatched or skipped.",
        type: "counter",
      },
      () =>
        states().flatMap(([namespace, { counters }]) => [
          { labels: { namespace, result: "matched" }, value: counters.readsMatched },
          { labels: { namespace, result: "mismatched" }, value: counters.readsMismatched },
          { labels: { namespace, result: "skipped" }, value: counters.readsSkipped },
        ]),
    );
  }

  /** Retries per backend and hedged reads per namespace (`resilience/`). */
  private resilienceSeries(): void {
    collected(
      this.registry,
      {
        name: "prism_backend_retries_total",
        help: "Idempotent backend calls retried after failing as unavailable (retried), or not retried because the backend's retry budget was spent (budget_exhausted).",
        type: "counter",
      },
      () =>
        [...(this.sources?.retries?.entries() ?? [])].flatMap(([backend, budget]) => [
          { labels: { backend, outcome: "retried" }, value: budget.spent },
          { labels: { backend, outcome: "budget_exhausted" }, value: budget.exhausted },
        ]),
    );
    collected(
      this.registry,
      {
        name: "prism_hedged_reads_total",
        help: "Second reads sent by namespaces with hedge: set (sent), those that answered first (won), and those the hedge budget refused (budget_exhausted).",
        type: "counter",
      },
      () =>
        (this.sources?.registry.list() ?? []).flatMap(({ spec, hedges }) =>
          hedges
            ? [
                { labels: { namespace: spec.name, outcome: "sent" }, value: hedges.sent },
                { labels: { namespace: spec.name, outcome: "won" }, value: hedges.won },
                {
                  labels: { namespace: spec.name, outcome: "budget_exhausted" },
                  value: hedges.budget.exhausted,
                },
              ]
            : [],
        ),
    );
  }

  private circuitSeries(): void {
    const breakers = () => [...(this.sources?.breakers?.all() ?? [])];
    collected(
      this.registry,
      {
        name: "prism_backend_circuit_state",
        help: "The backend's circuit breaker: 0 closed (calls flow), 1 half-open (one probe), 2 open (calls refused).",
        type: "gauge",
        aggregator: "max",
      },
      () =>
        breakers().map((breaker) => ({
          labels: { backend: breaker.backend },
          value: CIRCUIT_VALUES[breaker.state],
        })),
    );
    collected(
      this.registry,
      {
        name: "prism_backend_circuit_opened_total",
        help: "Times the backend's circuit breaker opened (consecutive unavailable or timed-out calls).",
        type: "counter",
      },
      () => breakers().map((breaker) => ({ labels: { backend: breaker.backend }, value: breaker.opened })),
    );
  }

  /**
   * The newest backfill job of each served namespace, from the config store's shared state (the
   * same on every gateway sharing the store: aggregate with max, not sum).
   */
  private backfillSeries(): void {
    let reading: Promise<BackfillRecord[]> | undefined;
    // The three families are collected together; they share one read of the store.
    const latest = () => {
      reading ??= this.latestBackfills().finally(() => {
        reading = undefined;
      });
      return reading;
    };
    const family = (name: string, help: string, value: (job: BackfillRecord) => number) =>
      collected(
        this.registry,
        // The same job on every worker: max, not sum.
        { name, help, type: "gauge", aggregator: "max" },
        async (): Promise<Sample[]> =>
          (await latest()).map((job) => ({ labels: { namespace: job.namespace }, value: value(job) })),
      );
    family(
      "prism_backfill_records_copied",
      "Records the namespace's newest backfill copied so far.",
      (job) => job.recordsCopied,
    );
    family(
      "prism_backfill_records_total",
      "Records the namespace's newest backfill counted to copy (grows while it counts).",
      (job) => job.recordsTotal,
    );
    family(
      "prism_backfill_records_per_second",
      "Copy rate of the namespace's running backfill (0 once it finished).",
      (job) => (job.state === "running" ? job.recordsPerSecond : 0),
    );
  }

  private async latestBackfills(): Promise<BackfillRecord[]> {
    const sources = this.sources;
    if (!sources) return [];
    let timer: NodeJS.Timeout | undefined;
    try {
      const stored = await Promise.race([
        sources.store.listState(BACKFILL_KIND),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("config store too slow")), BACKFILL_READ_MS);
        }),
      ]);
      const newest = new Map<string, BackfillRecord>();
      for (const { value } of stored) {
        const job = value as BackfillRecord;
        // Only namespaces served now: a job's name never becomes a label on its own.
        if (!sources.registry.get(job.namespace)) continue;
        const seen = newest.get(job.namespace);
        if (!seen || job.startedAt > seen.startedAt) newest.set(job.namespace, job);
      }
      return [...newest.values()];
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, "backfill metrics left out of a scrape");
      return [];
    } finally {
      clearTimeout(timer);
    }
  }
}
