import { type DiagLogger, DiagLogLevel, diag } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import type { Backend } from "@prism/core";
import type { TracingSettings } from "../config/gateway-config.js";
import type { Logger } from "../log.js";
import type { Interceptor } from "../pipeline/pipeline.js";
import { type BackendCallHooks, instrumented } from "./instrumented.js";
import { SampledCalls } from "./trace-calls.js";
import { BackendSpans } from "./traced.js";

/**
 * OpenTelemetry traces, running. This module (and with it the SDK) is imported only when
 * `tracing.enabled`: a gateway without tracing loads none of it and pays nothing per call.
 */
export interface Tracing {
  /** The pipeline step opening a server span per sampled call; composed first. */
  readonly serverSpans: Interceptor;
  /** The pipeline step giving a sampled call a signal of its own; composed last, after `deadline`. */
  readonly callSignals: Interceptor;
  /**
   * The backend with a child span per call made with a sampled call's signal.
   *
   * @example layerBackends(backends, config, logger, tracing.traceBackend)
   */
  traceBackend(backend: Backend): Backend;
  /** The same as hooks, to combine with other observers in one layer (`combineHooks`). */
  readonly backendHooks: BackendCallHooks<unknown>;
  /**
   * Exports the spans still buffered (within `timeoutMs`), then stops exporting.
   *
   * @example await tracing.shutdown(config.shutdownGraceMs)
   */
  shutdown(timeoutMs: number): Promise<void>;
}

/** What tests replace: where ended spans go, and the root sampling draw. */
export interface TracingOptions {
  /** Default: batches (OTEL_BSP_* variables tune them) exported over OTLP/HTTP (JSON) to `settings.endpoint`. */
  processor?: SpanProcessor;
  /** A number in [0, 1); default `Math.random`. */
  random?: () => number;
}

const INSTRUMENTATION_SCOPE = "prism-gateway";

/**
 * Starts tracing: a tracer provider with a batch span processor exporting over OTLP/HTTP, and the
 * sampler: a client's `traceparent` decides for its call (parent-based); a call without one is
 * sampled with probability `samplingRatio`. That root draw is made by the pipeline step before
 * any span exists, so an unsampled call allocates nothing; the SDK's sampler then sees only roots
 * that are already chosen (`AlwaysOn`) and remote parents. Backend calls find their call's span
 * through the call's signal (`SampledCalls`), not an async context: no context manager is
 * registered.
 *
 * @example const tracing = startTracing(config.tracing, logger);
 */
export function startTracing(
  settings: TracingSettings,
  logger: Logger,
  options: TracingOptions = {},
): Tracing {
  diag.setLogger(diagnostics(logger), DiagLogLevel.WARN);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": settings.serviceName }),
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: [
      options.processor ?? new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.endpoint })),
    ],
  });
  const tracer = provider.getTracer(INSTRUMENTATION_SCOPE);
  const calls = new SampledCalls();
  const backendSpans = new BackendSpans(tracer, calls);
  const ratio = settings.samplingRatio;
  const random = options.random ?? Math.random;
  logger.info(
    {
      endpoint: withoutCredentials(settings.endpoint),
      samplingRatio: ratio,
      serviceName: settings.serviceName,
    },
    "tracing on",
  );
  return {
    serverSpans: calls.serverSpans(tracer, ratio >= 1 ? () => true : () => random() < ratio),
    callSignals: calls.callSignals(),
    traceBackend: (backend) => instrumented(backend, backendSpans),
    backendHooks: backendSpans,
    async shutdown(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          logger.warn({ timeoutMs }, "tracing: spans not exported before shutdown were dropped");
          resolve();
        }, timeoutMs);
      });
      try {
        await Promise.race([provider.shutdown(), timedOut]);
      } finally {
        clearTimeout(timer);
        diag.disable();
      }
    },
  };
}

/** The endpoint as logged: a user and password in the URL stay out of the log. */
function withoutCredentials(endpoint: string): string {
  const url = new URL(endpoint);
  url.username = "";
  url.password = "";
  return url.href;
}

/** The SDK's own warnings (an unreachable collector, dropped spans) as gateway log records. */
function diagnostics(logger: Logger): DiagLogger {
  const log = (message: string) => logger.warn({ otel: message }, "tracing");
  const ignore = () => {};
  return { error: log, warn: log, info: ignore, debug: ignore, verbose: ignore };
}
