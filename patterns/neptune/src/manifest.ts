import type { DriverManifest } from "@prism/core";
import { readNeptuneOptions } from "./neptune-options.js";

/**
 * The `neptune` backend type as the gateway knows it before opening one: options are checked
 * without loading the client library, which `load` brings in (see `lazyDriver`).
 */
export const neptuneManifest: DriverManifest = {
  type: "neptune",
  patterns: ["graph"],
  validate: (options) => readNeptuneOptions(options).problems,
  load: async () => (await import("./neptune-driver.js")).neptuneDriver,
};
