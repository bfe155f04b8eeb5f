import { type Backend, ChunkSweeper, chunked } from "@prism/core";
import type { GatewayConfig } from "../config/gateway-config.js";
import type { Logger } from "../log.js";

/** A backend as namespaces see it: each pattern wrapped in the layers the gateway adds. */
export interface LayeredBackend extends Backend {
  /** Removes chunk sets no value references any more, from the backend's own store. */
  readonly sweeper?: ChunkSweeper;
}

/**
 * Wraps each opened backend in its layers, once per backend (namespaces share them): KeyValue
 * becomes `chunked(backend)`, which stores values above the backend's own item limit as chunks
 * staged under a fresh version and reassembles them. Shadow traffic wraps two of these
 * stacks in a binding. `instrument` (metrics, tracing: `telemetry/instrumented.ts`) wraps each
 * opened backend below every layer, so it sees each call that reaches the store.
 *
 * @example const layered = layerBackends(await openBackends(config, drivers, logger), config, logger);
 */
export function layerBackends(
  backends: ReadonlyMap<string, Backend>,
  config: Pick<GatewayConfig, "keyvalue" | "maxDeadlineMs">,
  logger: Logger,
  instrument?: (backend: Backend) => Backend,
): Map<string, LayeredBackend> {
  const { keyvalue: settings } = config;
  const onError = (error: unknown, namespace: string) =>
    logger.warn(
      { namespace, err: (error as Error).message },
      "chunk cleanup failed; unreferenced chunks remain until the next sweep",
    );
  const layered = new Map<string, LayeredBackend>();
  for (const [name, opened] of backends) {
    const backend = instrument ? instrument(opened) : opened;
    const raw = backend.keyvalue;
    layered.set(name, {
      name: backend.name,
      type: backend.type,
      ...(raw && {
        keyvalue: chunked(raw, {
          chunkBytes: settings.chunkBytes,
          maxValueBytes: settings.maxValueBytes,
          // A write may stage chunks for as long as its deadline allows, never past the grace.
          maxStageMs: config.maxDeadlineMs,
          onCleanupError: onError,
        }),
        sweeper: new ChunkSweeper(raw, {
          graceMs: settings.chunkGraceMs,
          intervalMs: settings.chunkSweepIntervalMs,
          onError,
        }),
      }),
      ...(backend.timeseries && { timeseries: backend.timeseries }),
      ...(backend.graph && { graph: backend.graph }),
      health: (signal) => backend.health(signal),
      close: () => backend.close(),
    });
  }
  return layered;
}

/**
 * Starts each backend's chunk sweep over the KeyValue namespaces stored on it (read from the
 * registry on every pass, so applied and deleted namespaces are followed). Returns the stop.
 */
export function startChunkSweeps(
  layered: ReadonlyMap<string, LayeredBackend>,
  namespaces: () => readonly {
    spec: { name: string; pattern: string; backend: string; shadow?: { backend: string } | undefined };
  }[],
): () => Promise<void> {
  const running: ChunkSweeper[] = [];
  for (const [name, backend] of layered) {
    if (!backend.sweeper) continue;
    backend.sweeper.start(() =>
      namespaces()
        .filter(
          ({ spec }) =>
            spec.pattern === "keyvalue" && (spec.backend === name || spec.shadow?.backend === name),
        )
        .map(({ spec }) => spec.name),
    );
    running.push(backend.sweeper);
  }
  return async () => {
    await Promise.all(running.map((sweeper) => sweeper.stop()));
  };
}
