#!/usr/bin/env node
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { workerCount } from "./cluster/worker-rules.js";
import { ConfigError, loadConfig } from "./config/load-config.js";
import { DRIVERS } from "./drivers.js";

/**
 * `prism-gateway [--config prism.yaml] [--workers N|auto]`: with no config (and no PRISM_CONFIG),
 * serves the embedded default — SQLite in ./.prism-data, namespace demo-kv, gRPC on
 * 127.0.0.1:8980. With more than one worker (`--workers`, `PRISM_WORKERS` or `workers:`), this
 * process supervises that many gateway processes on the same port (ADR-0028).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: "string", short: "c" }, workers: { type: "string", short: "w" } },
  });
  const file = values.config ?? process.env.PRISM_CONFIG;
  const env = values.workers ? { ...process.env, PRISM_WORKERS: values.workers } : process.env;
  const config = loadConfig({ ...(file ? { file } : {}), env }, DRIVERS);
  // Imported on demand: the supervisor of workers loads none of the gateway's serving code.
  if (cluster.isWorker) return (await import("./cluster/worker.js")).runWorker(config);
  const workers = workerCount(config);
  if (workers > 1) {
    const { superviseWorkers } = await import("./cluster/supervisor.js");
    return superviseWorkers(config, workers, file ?? "embedded default config");
  }
  const { startGateway } = await import("./gateway.js");
  const gateway = await startGateway({ config });
  process.stderr.write(
    `prism gateway listening on ${gateway.address} (${file ?? "embedded default config"})\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`prism gateway: ${signal}, shutting down\n`);
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`prism gateway failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
