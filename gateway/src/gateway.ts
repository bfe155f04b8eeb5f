import type { DescFile } from "@bufbuild/protobuf";
import { Server } from "@grpc/grpc-js";
import type { Backend, BackendDriver } from "@prism/core";
import { file_google_rpc_error_details } from "@prism/proto/google/rpc/error_details";
import { Health } from "@prism/proto/grpc/health/v1/health";
import { AdminService as AdminServiceDesc } from "@prism/proto/prism/admin/v1/admin";
import { GraphService as GraphServiceDesc } from "@prism/proto/prism/graph/v1/graph";
import { KeyValueService as KeyValueServiceDesc } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService as TimeSeriesServiceDesc } from "@prism/proto/prism/timeseries/v1/timeseries";
import { serveAdminUi } from "./admin-ui.js";
import { requireAdmin } from "./auth/admin-access.js";
import { createAuthenticator } from "./auth/authenticator.js";
import { serverCredentials } from "./auth/tls.js";
import { openConfigStore } from "./config/config-store.js";
import type { GatewayConfig } from "./config/gateway-config.js";
import { adminEnabled } from "./config/load-config.js";
import { receiveLimit } from "./config/namespace-rules.js";
import { DRIVERS } from "./drivers.js";
import { widenFlowControlWindows } from "./grpc/flow-control.js";
import { createLogger, type Logger } from "./log.js";
import { loadHashKey, resealerOf } from "./pii/namespace-values.js";
import { openPiiRuntime } from "./pii/pii-runtime.js";
import {
  authenticate,
  authorize,
  deadline,
  rateLimit,
  resolveNamespace,
  telemetry,
} from "./pipeline/interceptors.js";
import { cancelOfCall, ServiceSet } from "./pipeline/serve.js";
import { openBackends } from "./registry/backend-set.js";
import { layerBackends, startChunkSweeps } from "./registry/layers.js";
import { NamespaceRegistry } from "./registry/namespace-registry.js";
import { startRetention } from "./registry/retention.js";
import { CircuitBreakers } from "./resilience/circuit-breaker.js";
import { LoadShedder, shed } from "./resilience/load-shedder.js";
import { Retries } from "./resilience/retrying.js";
import { PiiAdmin } from "./services/admin-pii.js";
import { AdminService } from "./services/admin-service.js";
import { ShadowAdmin } from "./services/admin-shadow.js";
import { trafficHandlers } from "./services/admin-traffic.js";
import { GRAPH_POLICY, GraphService } from "./services/graph/graph-service.js";
import { HealthService } from "./services/health-service.js";
import { KEYVALUE_POLICY, KeyValueService } from "./services/keyvalue/keyvalue-service.js";
import {
  REFLECTION_FILES,
  REFLECTION_SERVICE_NAMES,
  ReflectionIndex,
  serveReflection,
} from "./services/reflection-service.js";
import { TIMESERIES_POLICY, TimeSeriesService } from "./services/timeseries/timeseries-service.js";
import { BackfillRunner } from "./shadow/backfill.js";
import { combineHooks, instrumented } from "./telemetry/instrumented.js";
import { serveMetrics } from "./telemetry/metrics-server.js";

/** What `startGateway` needs; drivers and logger default to the built-in ones. */
export interface GatewayOptions {
  config: Readonly<GatewayConfig>;
  drivers?: readonly BackendDriver[];
  logger?: Logger;
  /**
   * One of several processes under `--workers` (ADR-0028): metrics are handed to the supervisor
   * over IPC instead of served, and the supervisor runs the admin UI.
   */
  clusterWorker?: boolean;
}

/** A running gateway. */
export interface RunningGateway {
  /** `host:port` actually bound (port 0 in the config picks a free one). */
  readonly address: string;
  readonly registry: NamespaceRegistry;
  readonly backends: ReadonlyMap<string, Backend>;
  /** `host:port` of the Prometheus endpoint; undefined when metrics are off or could not bind. */
  readonly metricsAddress: string | undefined;
  /** `host:port` of the admin web UI; undefined when it is off or could not bind. */
  readonly adminAddress: string | undefined;
  /** Stops accepting calls, lets in-flight calls finish (up to the grace period), closes backends. */
  close(): Promise<void>;
}

/**
 * Files reflection serves beyond those of the served services (their imports come along):
 * error_details, whose ErrorInfo and BadRequest are packed into every error status so grpcurl can
 * decode them.
 */
const EXTRA_FILES: readonly DescFile[] = [file_google_rpc_error_details];

/**
 * Starts the gateway: opens backends and wraps them in their layers, loads the namespace
 * registry, serves gRPC with one per-call pipeline in front of every service.
 *
 * @example const gateway = await startGateway({ config: loadConfig({ file }, DRIVERS) });
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const drivers = options.drivers ?? DRIVERS;
  const logger = options.logger ?? createLogger(config.logLevel);
  // Imported only when on: a gateway without tracing loads nothing of the OpenTelemetry SDK.
  const tracing = config.tracing.enabled
    ? (await import("./telemetry/tracing.js")).startTracing(config.tracing, logger)
    : undefined;
  const backends = await openBackends(config, drivers, logger);
  // Likewise prom-client is loaded only when metrics are on.
  const metrics = config.metrics.enabled
    ? new (await import("./telemetry/metrics.js")).GatewayMetrics(backends, logger)
    : undefined;
  // Metrics time each store round trip; the tracing layer goes over the timing one.
  const breakers = config.circuitBreaker.enabled ? new CircuitBreakers(config.circuitBreaker) : undefined;
  // One layer for every observer of backend calls; the breaker first: a call it refuses is
  // neither traced nor timed as a backend call.
  const instrument = (backend: Backend): Backend => {
    const hooks = combineHooks([
      breakers?.hooksFor(backend.name),
      tracing?.backendHooks,
      metrics?.backends.hooks,
    ]);
    return hooks ? instrumented(backend, hooks) : backend;
  };
  // Retries go under that layer: the breaker, spans and timing see a call with its retries as one
  // call, so connections a database drops at once (a failover) are retried, not a circuit opened.
  const retries = new Retries({ ...config.retries, ratio: config.retries.budgetRatio });
  const layered = layerBackends(backends, config, logger, (backend) => instrument(retries.wrap(backend)));
  const store = await openConfigStore(config, logger);
  const pii = await openPiiRuntime(config);
  // Fields marked encrypt need the keyring: without one, schemas that seal are refused at apply.
  const cipher = config.pii.keyring ? pii.cipher : undefined;
  const registry = new NamespaceRegistry(config, drivers, layered, store, logger, {
    cipher,
    audit: pii.audit,
    // Warned only where PII is configured: the embedded default and plain gateways have no use for it.
    hashKey: loadHashKey(process.env, (message) =>
      config.pii.keyring ? logger.warn(message) : logger.debug(message),
    ),
  });
  await registry.start();
  metrics?.watch({ registry, store, retries, ...(breakers && { breakers }) });
  const stopSweeps = startChunkSweeps(layered, () => registry.list());
  const stopRetention = startRetention(() => registry.list(), config.timeseries.retentionIntervalMs, logger);
  const backfills = new BackfillRunner(registry, store, config.shadow, registry.shadows.gatewayId, logger);
  backfills.start();

  const shedder = new LoadShedder(config.overload);
  const maxReceive = receiveLimit(config);
  const server = new Server({
    // The gateway serves no channelz, and its per-call bookkeeping was 3% of all allocation.
    "grpc.enable_channelz": 0,
    "grpc.max_receive_message_length": maxReceive,
    "grpc.max_send_message_length": Math.max(maxReceive, config.keyvalue.maxPageBytes + (1 << 20)),
  });
  const services = new ServiceSet(
    server,
    [
      ...(tracing ? [tracing.serverSpans] : []),
      telemetry(metrics?.requests),
      shed(shedder),
      authenticate(createAuthenticator(config.auth, logger)),
      requireAdmin(config.auth),
      deadline(config, cancelOfCall),
      resolveNamespace(registry),
      authorize(),
      rateLimit(),
      ...(tracing ? [tracing.callSignals] : []),
    ],
    logger,
  );
  services.serve(KeyValueServiceDesc, new KeyValueService(config.keyvalue), KEYVALUE_POLICY);
  const timeseries = new TimeSeriesService(config.timeseries, config.maxDeadlineMs, logger);
  services.serve(TimeSeriesServiceDesc, timeseries, TIMESERIES_POLICY);
  services.serve(GraphServiceDesc, new GraphService(config.graph), GRAPH_POLICY);
  const piiAdmin = new PiiAdmin(registry, pii, resealerOf(cipher));
  services.serve(
    AdminServiceDesc,
    Object.assign(
      new AdminService(registry, backends, config.auth, breakers),
      piiAdmin.handlers(),
      new ShadowAdmin(registry, store, backfills, config.shadow).handlers(),
      trafficHandlers(metrics?.requests),
    ),
  );
  const health = new HealthService([...services.serviceNames, Health.typeName]);
  services.serve(Health, health);
  const index = new ReflectionIndex(
    [...services.files, ...REFLECTION_FILES, ...EXTRA_FILES],
    [...services.serviceNames, ...REFLECTION_SERVICE_NAMES],
  );
  serveReflection(services, index);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(config.listen.grpc, serverCredentials(config.tls), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  widenFlowControlWindows(server, logger);
  shedder.restart();
  const host = config.listen.grpc.slice(0, config.listen.grpc.lastIndexOf(":"));
  const address = `${host}:${port}`;
  logger.info(
    { address, namespaces: registry.list().length, backends: backends.size, maxReceiveBytes: maxReceive },
    "prism gateway listening",
  );
  if (options.clusterWorker) metrics?.reportToPrimary();
  const metricsServer =
    metrics && !options.clusterWorker
      ? await serveMetrics(config.metrics.listen, metrics, logger)
      : undefined;
  const adminUi =
    adminEnabled(config) && !options.clusterWorker ? await serveAdminUi(config, address, logger) : undefined;

  let closing: Promise<void> | undefined;
  return {
    address,
    registry,
    backends,
    metricsAddress: metricsServer?.address,
    adminAddress: adminUi?.address,
    close() {
      closing ??= (async () => {
        health.shutdown();
        await adminUi?.close();
        await stopSweeps();
        await stopRetention();
        shedder.close();
        // A running backfill keeps its checkpoint; another gateway (or this one restarted) resumes it.
        await backfills.stop();
        // Open tails end with OK at once; async writes still reach their backends.
        const drained = timeseries.shutdown();
        await shutdownServer(server, config.shutdownGraceMs);
        await metricsServer?.close();
        await drained;
        // Writes acknowledged before the stop still reach their shadows.
        await registry.shadows.stop(config.shutdownGraceMs);
        await tracing?.shutdown(config.shutdownGraceMs);
        registry.stop();
        await pii.close();
        await store.close();
        await Promise.all([...backends.values()].map((backend) => backend.close()));
        logger.info("prism gateway stopped");
        logger.flush();
      })();
      return closing;
    },
  };
}

/** Graceful stop: refuse new calls, wait for in-flight ones up to `graceMs`, then cut the rest. */
function shutdownServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
