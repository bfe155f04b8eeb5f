#!/usr/bin/env node
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config/load-config.js";
import { DRIVERS } from "./drivers.js";
import { startGateway } from "./gateway.js";

/**
 * `prism-gateway [--config prism.yaml]`: with no config (and no PRISM_CONFIG), serves the
 * embedded default — SQLite in ./.prism-data, namespace demo-kv, gRPC on 127.0.0.1:8980.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: "string", short: "c" } } });
  const file = values.config ?? process.env.PRISM_CONFIG;
  const config = loadConfig({ ...(file ? { file } : {}), env: process.env }, DRIVERS);
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
