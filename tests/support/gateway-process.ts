import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { launchGateway } from "./gateway-launch.js";

/** A gateway running as its own process, as users run it. */
export interface GatewayProcess {
  /** `127.0.0.1:port` it listens on. */
  address: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `gateway/src/main.ts` with `config` (written to a YAML file) on a free loopback port and
 * waits until it says it is listening. `dataDir` is reused when given (for restart tests).
 */
export async function startGatewayProcess(
  config: Record<string, unknown>,
  options: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<GatewayProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "prism-e2e-"));
  const file = join(dataDir, "gateway.yaml");
  writeFileSync(file, stringify({ listen: { grpc: "127.0.0.1:0" }, dataDir, logLevel: "info", ...config }));
  const gateway = launchGateway({ args: ["--config", file], ...(options.env && { env: options.env }) });
  const address = await gateway.listening();
  return { address, dataDir, child: gateway.child, output: gateway.output, stop: gateway.stop };
}

/** Removes a data directory made by `startGatewayProcess`. */
export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
