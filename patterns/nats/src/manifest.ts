import type { DriverManifest } from "@prism/core";
import { readNatsOptions } from "./nats-options.js";

/**
 * The `nats` backend type as the gateway knows it before opening one: options are checked
 * without loading the client library, which `load` brings in (see `lazyDriver`).
 */
export const natsManifest: DriverManifest = {
  type: "nats",
  patterns: ["keyvalue", "timeseries"],
  validate: (options) => readNatsOptions(options).problems,
  load: async () => (await import("./nats-driver.js")).natsDriver,
};
