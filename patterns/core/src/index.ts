export * from "./backend.js";
export * from "./bytes.js";
export * from "./errors.js";
export * from "./graph.js";
export * from "./keyvalue.js";
export { companionId, isHiddenId } from "./layers/chunk-format.js";
export { ChunkSweeper, type ChunkSweeperOptions, type SweepCounts } from "./layers/chunk-sweeper.js";
export { ChunkedKeyValue, type ChunkedOptions, chunked } from "./layers/chunked.js";
export { OptionReader, resolveSecret } from "./options.js";
export { itemBytes, takePage } from "./paging.js";
export {
  decodeScanCursor,
  decodeSeriesScanCursor,
  encodeScanCursor,
  encodeSeriesScanCursor,
  invalidScanCursor,
  type SeriesScanPosition,
  scanCursorInteger,
} from "./scan-cursor.js";
export * from "./timeseries.js";
