import { PrismError } from "@prism/core";
import type { Logger } from "../log.js";
import type { ResolvedNamespace } from "./resolved-namespace.js";

/** A pass gives each namespace's backend this long to apply its retention. */
const PASS_TIMEOUT_MS = 60_000;

/**
 * Applies every TimeSeries namespace's retention to its storage: shortly after start (so a
 * namespace's native retention is configured early), then every `intervalMs`. Reads apply
 * retention at once whatever this does; this is what frees the space. Returns its stop.
 *
 * @example const stop = startRetention(() => registry.list(), 600_000, logger); await stop();
 */
export function startRetention(
  namespaces: () => readonly ResolvedNamespace[],
  intervalMs: number,
  logger: Logger,
): () => Promise<void> {
  const stopping = new AbortController();
  let pass: Promise<void> | undefined;
  const run = () => {
    pass ??= applyAll(namespaces(), stopping.signal, logger).finally(() => {
      pass = undefined;
    });
  };
  const first = setTimeout(run, Math.min(1000, intervalMs));
  const timer = setInterval(run, intervalMs);
  first.unref();
  timer.unref();
  return async () => {
    clearTimeout(first);
    clearInterval(timer);
    stopping.abort();
    await pass;
  };
}

async function applyAll(namespaces: readonly ResolvedNamespace[], stop: AbortSignal, logger: Logger) {
  for (const namespace of namespaces) {
    if (stop.aborted) return;
    if (namespace.spec.pattern !== "timeseries" || !namespace.timeseries) continue;
    const name = namespace.spec.name;
    try {
      const signal = AbortSignal.any([stop, AbortSignal.timeout(PASS_TIMEOUT_MS)]);
      const { removed } = await namespace.binding.timeseries.retain(name, {
        settings: namespace.timeseries,
        signal,
      });
      if (removed) logger.info({ namespace: name, removed }, "retention removed expired events");
    } catch (error) {
      if (stop.aborted) return;
      const kind = error instanceof PrismError ? error.kind : "Internal";
      logger.warn({ namespace: name, kind }, "applying retention failed; retrying next pass");
    }
  }
}
