import type { Backend, BackendDriver } from "@prism/core";
import { OptionReader } from "@prism/core";
import { MemoryGraph } from "./memory-graph.js";
import { MemoryKeyValue } from "./memory-keyvalue.js";
import { MemoryTimeSeries } from "./memory-timeseries.js";

export { MemoryGraph } from "./memory-graph.js";
export { MemoryKeyValue } from "./memory-keyvalue.js";
export { MemoryTimeSeries } from "./memory-timeseries.js";

/**
 * The `memory` backend type. Options: `sweepIntervalMs` (how often expired items are dropped,
 * default 30000).
 */
export const memoryDriver: BackendDriver = {
  type: "memory",
  patterns: ["keyvalue", "timeseries", "graph"],
  validate: (options) => optionsOf(options).problems,
  async open({ name, options }): Promise<Backend> {
    const { sweepIntervalMs } = optionsOf(options);
    const keyvalue = new MemoryKeyValue();
    const sweeper = setInterval(() => keyvalue.sweep(), sweepIntervalMs);
    sweeper.unref();
    return {
      name,
      type: "memory",
      keyvalue,
      timeseries: new MemoryTimeSeries(),
      graph: new MemoryGraph(),
      health: async () => ({ ok: true, latencyMs: 0 }),
      close: async () => clearInterval(sweeper),
    };
  },
};

function optionsOf(options: Record<string, unknown>) {
  const reader = new OptionReader(options).only("sweepIntervalMs");
  const sweepIntervalMs = reader.integer("sweepIntervalMs", 30_000, 100, 3_600_000);
  return { sweepIntervalMs, problems: reader.problems };
}
