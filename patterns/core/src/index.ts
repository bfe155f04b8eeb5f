export * from "./backend.js";
export * from "./bytes.js";
export * from "./errors.js";
export * from "./graph.js";
export * from "./keyvalue.js";
export { OptionReader, resolveSecret } from "./options.js";
export { itemBytes, takePage } from "./paging.js";
export * from "./timeseries.js";
