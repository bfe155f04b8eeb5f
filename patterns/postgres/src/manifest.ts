import type { DriverManifest } from "@prism/core";
import { readPostgresOptions } from "./postgres-options.js";

/**
 * The `postgres` backend type as the gateway knows it before opening one: options are checked
 * without loading the client library, which `load` brings in (see `lazyDriver`).
 */
export const postgresManifest: DriverManifest = {
  type: "postgres",
  patterns: ["keyvalue", "timeseries", "graph"],
  validate: (options) => readPostgresOptions(options).problems,
  load: async () => (await import("./postgres-driver.js")).postgresDriver,
};
