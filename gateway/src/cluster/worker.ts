import type { GatewayConfig } from "../config/gateway-config.js";
import { startGateway } from "../gateway.js";
import type { WorkerMessage } from "./messages.js";

/**
 * One worker of `--workers N` (ADR-0028): a whole gateway on the shared gRPC port, without its
 * own metrics endpoint or admin UI (the supervisor serves both). Tells the supervisor once it
 * listens; drains and exits 0 on SIGTERM or SIGINT (the supervisor forwards them; a terminal's
 * Ctrl-C reaches every process of the group).
 *
 * @example if (cluster.isWorker) await runWorker(config);
 */
export async function runWorker(config: Readonly<GatewayConfig>): Promise<void> {
  // The channel to the supervisor keeps this process alive while it starts (a preloaded module,
  // like the bench's orphan guard, may have unref'd it; with nothing else pending during an
  // import, the worker would end with code 0 before it listens).
  process.channel?.ref();
  const gateway = await startGateway({ config, clusterWorker: true });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // No handler for the supervisor's death: node:cluster ends a worker whose IPC channel closes
  // unexpectedly at once (exit 0), so no orphan keeps the port.
  const ready: WorkerMessage = { type: "prism:listening", address: gateway.address };
  process.send?.(ready);
}
