import { readFile } from "node:fs/promises";
import { type Backend, type BackendDriver, type HealthReport, PrismError, resolveSecret } from "@prism/core";
import { toPrismError } from "./errors.js";
import { exclusiveWrites } from "./exclusive-writes.js";
import { GremlinLink } from "./gremlin-link.js";
import { Layout } from "./layout.js";
import { neptuneManifest } from "./manifest.js";
import { NeptuneGraph } from "./neptune-graph.js";
import { isGremlinUrl, readNeptuneOptions } from "./neptune-options.js";

/**
 * The `neptune` backend type: the Graph pattern on Amazon Neptune or any Apache TinkerPop 3.7
 * Gremlin server (tested on Gremlin Server with TinkerGraph), over one WebSocket. Options: `url`
 * (required, `ws://` / `wss://`; `env:NAME` / `file:/path` allowed), `prefix` (`prism`),
 * `serializer` (`graphbinary` | `graphson3`), `connectTimeoutMs` (3000), `requestTimeoutMs`
 * (10000), `writeBatchSize` (100), `caFile` (extra CA certificates for `wss://`); `iamAuth` is
 * refused as not supported yet (ADR 0015).
 *
 * @example
 * const backend = await neptuneDriver.open({ name: "graph", options: { url: "env:GREMLIN_URL" }, dataDir });
 */
export const neptuneDriver: BackendDriver = {
  type: neptuneManifest.type,
  patterns: neptuneManifest.patterns,
  validate: neptuneManifest.validate,
  async open({ name, options: raw }): Promise<Backend> {
    const { options, problems } = readNeptuneOptions(raw);
    if (problems.length > 0) {
      throw new PrismError("InvalidArgument", `backend ${name} has invalid options: ${problems.join("; ")}`, {
        reason: "INVALID_BACKEND_OPTIONS",
      });
    }
    const url = await resolveUrl(name, options.url);
    const ca = options.caFile === undefined ? undefined : await readCa(name, options.caFile);
    // No connection now: a server that is down must not stop the gateway; calls connect on use.
    const link = new GremlinLink(name, { ...options, url, ca });
    const store = new NeptuneGraph(link, new Layout(options.prefix), options.writeBatchSize);
    const graph = options.exclusiveWrites ? exclusiveWrites(store) : store;
    return {
      name,
      type: "neptune",
      graph,
      health: (signal) => health(link, name, signal),
      close: () => link.close(),
    };
  },
};

/** A real round trip: the cheapest traversal that reaches the graph. */
async function health(link: GremlinLink, name: string, signal: AbortSignal): Promise<HealthReport> {
  const started = performance.now();
  const latencyMs = () => Math.round((performance.now() - started) * 100) / 100;
  try {
    await link.run(signal, (g) => g.V().limit(1).count());
    return { ok: true, latencyMs: latencyMs() };
  } catch (error) {
    return { ok: false, message: toPrismError(error, name, signal).message, latencyMs: latencyMs() };
  }
}

/** Resolves `env:` / `file:`; never puts the URL (it may hold credentials) in errors. */
async function resolveUrl(name: string, url: string): Promise<string> {
  let resolved: string;
  try {
    resolved = await resolveSecret(url);
  } catch (error) {
    // resolveSecret's messages name the variable or file, never the secret.
    throw new PrismError("FailedPrecondition", `backend ${name}: cannot read option url from ${url}`, {
      reason: "BACKEND_SECRET_UNAVAILABLE",
      cause: error,
    });
  }
  if (!isGremlinUrl(resolved)) {
    throw new PrismError("InvalidArgument", `backend ${name}: option url is not a ws:// or wss:// URL`, {
      reason: "INVALID_BACKEND_OPTIONS",
    });
  }
  return resolved;
}

async function readCa(name: string, caFile: string): Promise<string> {
  try {
    return await readFile(caFile, "utf8");
  } catch (error) {
    throw new PrismError("FailedPrecondition", `backend ${name}: cannot read caFile ${caFile}`, {
      reason: "BACKEND_SECRET_UNAVAILABLE",
      cause: error,
    });
  }
}
