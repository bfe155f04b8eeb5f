import type { Backend, BackendDriver } from "@prism/core";
import type { GatewayConfig } from "../config/gateway-config.js";
import type { Logger } from "../log.js";

/**
 * Opens every backend instance the config declares. A backend that fails to open stops the
 * start (with every failure listed) rather than serving half a config.
 */
export async function openBackends(
  config: Readonly<GatewayConfig>,
  drivers: readonly BackendDriver[],
  logger: Logger,
): Promise<Map<string, Backend>> {
  const opened = new Map<string, Backend>();
  const failures: string[] = [];
  for (const [name, { type, ...options }] of Object.entries(config.backends)) {
    const driver = drivers.find((d) => d.type === type)!;
    try {
      opened.set(name, await driver.open({ name, options, dataDir: config.dataDir }));
      logger.info({ backend: name, type }, "backend opened");
    } catch (error) {
      failures.push(`${name} (${type}): ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) {
    await Promise.all([...opened.values()].map((backend) => backend.close()));
    throw new Error(`could not open backends:\n  - ${failures.join("\n  - ")}`);
  }
  return opened;
}
