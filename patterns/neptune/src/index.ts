export { toPrismError } from "./errors.js";
export { Layout, sortKey } from "./layout.js";
export { neptuneDriver } from "./neptune-driver.js";
export { NeptuneGraph } from "./neptune-graph.js";
export { type NeptuneOptions, readNeptuneOptions } from "./neptune-options.js";
export { decodeProperties, encodeProperties } from "./property-encoding.js";
