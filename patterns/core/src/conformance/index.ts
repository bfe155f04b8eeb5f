export { b, freshNamespace } from "./fixtures.js";
export { type GraphConformanceTarget, graphConformance } from "./graph.js";
export { type KeyValueConformanceTarget, keyValueConformance } from "./keyvalue.js";
export { keyValueLargeTests } from "./keyvalue-large.js";
export { type TimeSeriesConformanceTarget, timeSeriesConformance } from "./timeseries.js";
