import type { DescFile } from "@bufbuild/protobuf";
import {
  type handleBidiStreamingCall,
  Server,
  ServerCredentials,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Backend, BackendDriver } from "@prism/core";
import { file_google_rpc_error_details } from "@prism/proto/google/rpc/error_details";
import { grpcServiceDefinition } from "@prism/proto/grpc";
import { file_grpc_health_v1_health, Health } from "@prism/proto/grpc/health/v1/health";
import { file_grpc_reflection_v1_reflection } from "@prism/proto/grpc/reflection/v1/reflection";
import { file_grpc_reflection_v1alpha_reflection } from "@prism/proto/grpc/reflection/v1alpha/reflection";
import {
  AdminService as AdminServiceDesc,
  file_prism_admin_v1_admin,
} from "@prism/proto/prism/admin/v1/admin";
import { file_prism_graph_v1_graph } from "@prism/proto/prism/graph/v1/graph";
import {
  file_prism_keyvalue_v1_keyvalue,
  KeyValueService as KeyValueServiceDesc,
} from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { file_prism_timeseries_v1_timeseries } from "@prism/proto/prism/timeseries/v1/timeseries";
import { openConfigStore } from "./config/config-store.js";
import type { GatewayConfig } from "./config/gateway-config.js";
import type { RequestContext } from "./context.js";
import { DRIVERS } from "./drivers.js";
import { type HandlerEnv, serverStream, unary } from "./grpc/handlers.js";
import { createLogger, type Logger } from "./log.js";
import { openBackends } from "./registry/backend-set.js";
import { NamespaceRegistry } from "./registry/namespace-registry.js";
import { AdminService } from "./services/admin-service.js";
import { HealthService } from "./services/health-service.js";
import { KeyValueService } from "./services/keyvalue/keyvalue-service.js";
import { ReflectionIndex, reflectionServices } from "./services/reflection-service.js";

/** What `startGateway` needs; drivers and logger default to the built-in ones. */
export interface GatewayOptions {
  config: Readonly<GatewayConfig>;
  drivers?: readonly BackendDriver[];
  logger?: Logger;
}

/** A running gateway. */
export interface RunningGateway {
  /** `host:port` actually bound (port 0 in the config picks a free one). */
  readonly address: string;
  readonly registry: NamespaceRegistry;
  readonly backends: ReadonlyMap<string, Backend>;
  /** Stops accepting calls, lets in-flight calls finish (up to the grace period), closes backends. */
  close(): Promise<void>;
}

/**
 * Files whose descriptors reflection serves (their imports come along). error_details holds the
 * ErrorInfo and BadRequest packed into every error status, so grpcurl can decode them.
 */
const SERVED_FILES: readonly DescFile[] = [
  file_prism_keyvalue_v1_keyvalue,
  file_prism_timeseries_v1_timeseries,
  file_prism_graph_v1_graph,
  file_prism_admin_v1_admin,
  file_grpc_health_v1_health,
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
  file_google_rpc_error_details,
];

/**
 * Starts the gateway: opens backends, loads the namespace registry, serves gRPC.
 *
 * @example const gateway = await startGateway({ config: loadConfig({ file }, DRIVERS) });
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const drivers = options.drivers ?? DRIVERS;
  const logger = options.logger ?? createLogger(config.logLevel);
  const backends = await openBackends(config, drivers, logger);
  const store = await openConfigStore(config, logger);
  const registry = new NamespaceRegistry(config, drivers, backends, store, logger);
  await registry.start();

  const maxMessage = Math.max(64 << 20, config.keyvalue.maxValueBytes + (1 << 20));
  const server = new Server({
    "grpc.max_receive_message_length": maxMessage,
    "grpc.max_send_message_length": maxMessage,
  });
  const env: HandlerEnv = { logger, defaultDeadlineMs: config.defaultDeadlineMs };
  const services = [KeyValueServiceDesc.typeName, AdminServiceDesc.typeName, Health.typeName];
  const health = new HealthService(services);
  addServices(server, env, { registry, backends, config, logger, health });
  const index = new ReflectionIndex(SERVED_FILES, [
    ...services,
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
  ]);
  for (const { definition, handler } of reflectionServices(index)) {
    server.addService(definition, {
      serverReflectionInfo: handler as handleBidiStreamingCall<unknown, unknown>,
    });
  }

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(config.listen.grpc, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const host = config.listen.grpc.slice(0, config.listen.grpc.lastIndexOf(":"));
  const address = `${host}:${port}`;
  logger.info(
    { address, namespaces: registry.list().length, backends: backends.size },
    "prism gateway listening",
  );

  let closing: Promise<void> | undefined;
  return {
    address,
    registry,
    backends,
    close() {
      closing ??= (async () => {
        health.shutdown();
        await shutdownServer(server, config.shutdownGraceMs);
        registry.stop();
        await store.close();
        await Promise.all([...backends.values()].map((backend) => backend.close()));
        logger.info("prism gateway stopped");
        logger.flush();
      })();
      return closing;
    },
  };
}

function addServices(
  server: Server,
  env: HandlerEnv,
  deps: {
    registry: NamespaceRegistry;
    backends: ReadonlyMap<string, Backend>;
    config: Readonly<GatewayConfig>;
    logger: Logger;
    health: HealthService;
  },
): void {
  const kv = new KeyValueService(deps.registry, deps.config.keyvalue, (error, namespace) =>
    deps.logger.warn(
      { namespace, err: (error as Error).message },
      "chunk cleanup failed; unreferenced chunks remain",
    ),
  );
  const kvName = KeyValueServiceDesc.typeName;
  server.addService(grpcServiceDefinition(KeyValueServiceDesc), {
    put: unary(`${kvName}/Put`, env, (req, ctx) => kv.put(req as never, ctx)),
    get: unary(`${kvName}/Get`, env, (req, ctx) => kv.get(req as never, ctx)),
    delete: unary(`${kvName}/Delete`, env, (req, ctx) => kv.delete(req as never, ctx)),
    mutate: unary(`${kvName}/Mutate`, env, (req, ctx) => kv.mutate(req as never, ctx)),
    scan: serverStream(`${kvName}/Scan`, env, (req, ctx, send) => kv.scan(req as never, ctx, send)),
  } satisfies UntypedServiceImplementation);

  const admin = new AdminService(deps.registry, deps.backends);
  const adminName = AdminServiceDesc.typeName;
  // biome-ignore lint/suspicious/noExplicitAny: grpc-js hands each handler its own decoded request type.
  const implemented: Record<string, (req: any, ctx: RequestContext) => Promise<unknown>> = {
    listNamespaces: () => admin.listNamespaces(),
    getNamespace: (req) => admin.getNamespace(req),
    applyNamespace: (req, ctx) => admin.applyNamespace(req, ctx),
    deleteNamespace: (req) => admin.deleteNamespace(req),
    listBackends: () => admin.listBackends(),
  };
  const adminHandlers: UntypedServiceImplementation = {};
  for (const method of AdminServiceDesc.methods) {
    const handler = implemented[method.localName] ?? AdminService.notYet(method.name);
    adminHandlers[method.localName] = unary(
      `${adminName}/${method.name}`,
      env,
      handler,
    ) as UntypedServiceImplementation[string];
  }
  server.addService(grpcServiceDefinition(AdminServiceDesc), adminHandlers);

  server.addService(grpcServiceDefinition(Health), {
    check: unary(`${Health.typeName}/Check`, env, (req) => deps.health.check(req as never)),
    list: unary(`${Health.typeName}/List`, env, () => deps.health.list()),
    watch: serverStream(`${Health.typeName}/Watch`, env, (req, ctx, send) =>
      deps.health.watch(req as never, ctx, send as never),
    ),
  });
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
