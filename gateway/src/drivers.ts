import { type BackendDriver, lazyDriver } from "@prism/core";
import { kafkaManifest } from "@prism/kafka/manifest";
import { memoryDriver } from "@prism/memory";
import { natsManifest } from "@prism/nats/manifest";
import { neptuneManifest } from "@prism/neptune/manifest";
import { postgresManifest } from "@prism/postgres/manifest";
import { sqliteDriver } from "@prism/sqlite";

/**
 * Every backend package the gateway can run. Adding a backend is adding its driver here; nothing
 * else in the gateway knows backend types. Packages with a client library behind them are loaded
 * when a backend of their type is first opened (`lazyDriver`), so a gateway pays in memory and
 * start-up only for the backends its config names.
 */
export const DRIVERS: readonly BackendDriver[] = [
  memoryDriver,
  sqliteDriver,
  lazyDriver(postgresManifest),
  lazyDriver(natsManifest),
  lazyDriver(kafkaManifest),
  lazyDriver(neptuneManifest),
];
