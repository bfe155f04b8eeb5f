import type { BackendDriver } from "@prism/core";
import { kafkaDriver } from "@prism/kafka";
import { memoryDriver } from "@prism/memory";
import { natsDriver } from "@prism/nats";
import { neptuneDriver } from "@prism/neptune";
import { postgresDriver } from "@prism/postgres";
import { sqliteDriver } from "@prism/sqlite";

/**
 * Every backend package the gateway can run. Adding a backend is adding its driver here; nothing
 * else in the gateway knows backend types.
 */
export const DRIVERS: readonly BackendDriver[] = [
  memoryDriver,
  sqliteDriver,
  postgresDriver,
  natsDriver,
  kafkaDriver,
  neptuneDriver,
];
