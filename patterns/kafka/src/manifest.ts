import type { DriverManifest } from "@prism/core";
import { readKafkaOptions } from "./kafka-options.js";

/**
 * The `kafka` backend type as the gateway knows it before opening one: options are checked
 * without loading the client library, which `load` brings in (see `lazyDriver`).
 */
export const kafkaManifest: DriverManifest = {
  type: "kafka",
  patterns: ["timeseries"],
  validate: (options) => readKafkaOptions(options).problems,
  load: async () => (await import("./kafka-driver.js")).kafkaDriver,
};
