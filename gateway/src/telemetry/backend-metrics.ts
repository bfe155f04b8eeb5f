import type { Backend, HealthReport } from "@prism/core";
import type { Registry } from "prom-client";
import type { BackendCall, BackendCallHooks } from "./instrumented.js";
import { collected, LatencyHistogram, type Sample } from "./instruments.js";

/** How long one health probe may take; a backend slower than this counts as down. */
const HEALTH_TIMEOUT_MS = 2000;
/** Scrapes within this long of a probe reuse its answers. */
const HEALTH_CACHE_MS = 5000;

/** One backend × pattern × operation: its latency and failures. */
class CallTimings {
  readonly latency = new LatencyHistogram();
  errors = 0;

  constructor(readonly labels: Readonly<Record<string, string>>) {}
}

/**
 * Backend metrics: `prism_backend_call_duration_seconds{backend,pattern,operation}` and
 * `prism_backend_call_errors_total{…}` from every call through `instrumented()` (the `hooks`) or
 * `observeBackendCall`, and `prism_backend_up{backend,type}` /
 * `prism_backend_health_latency_seconds{backend,type}` from health probes.
 *
 * Health is probed when scraped, not on a timer: a gateway nobody scrapes sends its backends
 * nothing, a scrape sees a probe at most {@link HEALTH_CACHE_MS} old, concurrent scrapers (an HA
 * Prometheus pair) share one probe, and a hung backend delays a scrape by at most
 * {@link HEALTH_TIMEOUT_MS} (the same probe and bound as AdminService.ListBackends).
 *
 * @example const layered = layerBackends(backends, config, logger, metrics.backends.hooks);
 */
export class BackendMetrics {
  private readonly timings = new Map<string, CallTimings>();
  private readonly byCall = new Map<BackendCall, CallTimings>();
  private health: { at: number; reports: Map<Backend, HealthReport> } | undefined;
  private probing: Promise<Map<Backend, HealthReport>> | undefined;

  /** Times each instrumented call (streams are not timed: a tail lasts as long as its reader). */
  readonly hooks: BackendCallHooks<number> = {
    onStart: () => performance.now(),
    onEnd: (call, started, error) => {
      if (call.streaming) return;
      let timings = this.byCall.get(call);
      if (timings === undefined) {
        timings = this.timingsOf(call.backend, call.pattern, call.operation);
        this.byCall.set(call, timings);
      }
      timings.latency.observe((performance.now() - started) / 1000);
      if (error !== undefined) timings.errors++;
    },
  };

  constructor(
    registry: Registry,
    private readonly backends: ReadonlyMap<string, Backend>,
  ) {
    collected(
      registry,
      {
        name: "prism_backend_call_duration_seconds",
        help: "Backend call latency (each store round trip, below chunking and shadowing).",
        type: "histogram",
      },
      () =>
        [...this.timings.values()].flatMap((t) =>
          t.latency.samples("prism_backend_call_duration_seconds", t.labels),
        ),
    );
    collected(
      registry,
      { name: "prism_backend_call_errors_total", help: "Backend calls that failed.", type: "counter" },
      () => [...this.timings.values()].map((t) => ({ labels: t.labels, value: t.errors })),
    );
    collected(
      registry,
      {
        name: "prism_backend_up",
        help: "1 when the backend's last health probe succeeded.",
        type: "gauge",
        aggregator: "min",
      },
      async () => this.healthSamples(await this.reports(), (report) => (report.ok ? 1 : 0)),
    );
    collected(
      registry,
      {
        name: "prism_backend_health_latency_seconds",
        help: "How long the backend's last health probe took.",
        type: "gauge",
        aggregator: "max",
      },
      async () => this.healthSamples(await this.reports(), (report) => report.latencyMs / 1000),
    );
  }

  /**
   * Records one backend call made outside `instrumented()` (labels must be config names and
   * method names, never data).
   *
   * @example metrics.backends.observeBackendCall("pg-main", "keyvalue", "get", 0.0012, true)
   */
  observeBackendCall(
    backend: string,
    pattern: string,
    operation: string,
    seconds: number,
    ok: boolean,
  ): void {
    const timings = this.timingsOf(backend, pattern, operation);
    timings.latency.observe(seconds);
    if (!ok) timings.errors++;
  }

  private timingsOf(backend: string, pattern: string, operation: string): CallTimings {
    const key = `${backend}\u0000${pattern}\u0000${operation}`;
    let timings = this.timings.get(key);
    if (timings === undefined) {
      timings = new CallTimings({ backend, pattern, operation });
      this.timings.set(key, timings);
    }
    return timings;
  }

  private healthSamples(
    reports: Map<Backend, HealthReport>,
    value: (report: HealthReport) => number,
  ): Sample[] {
    return [...reports].map(([backend, report]) => ({
      labels: { backend: backend.name, type: backend.type },
      value: value(report),
    }));
  }

  /** Every backend's health, probed at most every {@link HEALTH_CACHE_MS}. */
  private reports(): Promise<Map<Backend, HealthReport>> {
    if (this.health && Date.now() - this.health.at < HEALTH_CACHE_MS)
      return Promise.resolve(this.health.reports);
    this.probing ??= this.probe().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  private async probe(): Promise<Map<Backend, HealthReport>> {
    const backends = [...this.backends.values()];
    const started = performance.now();
    const reports = await Promise.all(
      backends.map((backend) =>
        // health() never throws by contract; a driver that does anyway counts as down.
        backend
          .health(AbortSignal.timeout(HEALTH_TIMEOUT_MS))
          .catch((): HealthReport => ({ ok: false, latencyMs: performance.now() - started })),
      ),
    );
    const result = new Map(backends.map((backend, i) => [backend, reports[i]!]));
    this.health = { at: Date.now(), reports: result };
    return result;
  }
}
