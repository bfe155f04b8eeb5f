import { serveAdminUi } from "../admin-ui.js";
import type { GatewayConfig } from "../config/gateway-config.js";
import { adminEnabled } from "../config/load-config.js";
import type { Logger } from "../log.js";
import { serveMetrics } from "../telemetry/metrics-server.js";

/** The supervisor's own listeners: the metrics endpoint and the admin UI. */
export interface PrimaryListeners {
  close(): Promise<void>;
}

/**
 * What the supervisor serves once for all workers (ADR-0028): `GET /metrics` with every worker's
 * series combined (prom-client's `AggregatorRegistry` asks each worker over the cluster IPC
 * channel; counters are summed), and the admin UI, which reaches the workers over gRPC like any
 * client. Either one that cannot bind is logged and skipped, as in a single process.
 *
 * @example const listeners = await startPrimaryListeners(config, "127.0.0.1:8980", logger);
 */
export async function startPrimaryListeners(
  config: Readonly<GatewayConfig>,
  grpcAddress: string,
  logger: Logger,
): Promise<PrimaryListeners> {
  let metricsServer: { close(): Promise<void> } | undefined;
  if (config.metrics.enabled) {
    // Loaded only when metrics are on, as in a single gateway.
    const { AggregatorRegistry } = await import("prom-client");
    const aggregator = new AggregatorRegistry();
    metricsServer = await serveMetrics(
      config.metrics.listen,
      {
        render: async () => ({
          contentType: aggregator.contentType,
          body: await aggregator.clusterMetrics(),
        }),
      },
      logger,
    );
  }
  const adminUi = adminEnabled(config) ? await serveAdminUi(config, grpcAddress, logger) : undefined;
  return {
    async close() {
      await adminUi?.close();
      await metricsServer?.close();
    },
  };
}
