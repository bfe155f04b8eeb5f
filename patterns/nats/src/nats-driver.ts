import { type Backend, type BackendDriver, type HealthReport, PrismError, resolveSecret } from "@prism/core";
import { toPrismError } from "./errors.js";
import { natsManifest } from "./manifest.js";
import { NatsKeyValue } from "./nats-keyvalue.js";
import { NatsLink } from "./nats-link.js";
import { isServerUrl, parseServerUrl, readNatsOptions, type ServerAddress } from "./nats-options.js";
import { NatsTimeSeries } from "./nats-timeseries.js";

/**
 * The `nats` backend type: KeyValue on NATS JetStream (server 2.11 or later for TTL and reads
 * independent of the namespace's size; 2.9 still works without them), and TimeSeries (2.11 or
 * later: one stream per namespace, ADR-0013), JetStream on.
 * Options: `url` (required; `env:NAME` / `file:/path` allowed; may carry `user:pass@` or
 * `token@`), `bucketPrefix` (default `prism`), `replicas` (1), `connectTimeoutMs` (3000),
 * `requestTimeoutMs` (5000), `maxValueBytes` (1 MiB, lowered to the server's max_payload).
 *
 * @example
 * const backend = await natsDriver.open({ name: "nats-main", options: { url: "env:NATS_URL" }, dataDir });
 */
export const natsDriver: BackendDriver = {
  type: natsManifest.type,
  patterns: natsManifest.patterns,
  validate: natsManifest.validate,
  async open({ name, options: raw }): Promise<Backend> {
    const { options, problems } = readNatsOptions(raw);
    if (problems.length > 0) {
      throw new PrismError("InvalidArgument", `backend ${name} has invalid options: ${problems.join("; ")}`, {
        reason: "INVALID_BACKEND_OPTIONS",
      });
    }
    const address = await resolveAddress(name, options.url);
    let keyvalue: NatsKeyValue | undefined;
    const link = new NatsLink({
      ...options,
      backendName: name,
      address,
      onConnected: (maxPayloadBytes, version) => keyvalue?.fitToServer(maxPayloadBytes, version),
    });
    keyvalue = new NatsKeyValue(link, name, options.maxValueBytes);
    const timeseries = new NatsTimeSeries(link, name, options);
    // Connect now if we can, so capabilities reflect the server before the first request. A
    // server that is down must not stop the gateway: the link retries on use.
    await link.session().catch(() => undefined);
    return {
      name,
      type: "nats",
      keyvalue,
      timeseries,
      health: (signal) => health(link, name, signal),
      close: () => link.close(),
    };
  },
};

/** A JetStream round trip (account info), so a server without JetStream is not reported healthy. */
async function health(link: NatsLink, name: string, signal: AbortSignal): Promise<HealthReport> {
  const started = performance.now();
  const latencyMs = () => Math.round((performance.now() - started) * 100) / 100;
  try {
    const session = await link.session(signal);
    await link.call(session.jsm.getAccountInfo(), signal);
    return { ok: true, latencyMs: latencyMs() };
  } catch (error) {
    return { ok: false, message: toPrismError(error, name, signal).message, latencyMs: latencyMs() };
  }
}

/** Resolves `env:` / `file:` and lifts credentials out of the URL. Never puts the URL in errors. */
async function resolveAddress(name: string, url: string): Promise<ServerAddress> {
  let resolved: string;
  try {
    resolved = await resolveSecret(url);
  } catch (error) {
    // resolveSecret's messages name the variable or file, never the secret.
    throw new PrismError("InvalidArgument", `backend ${name}: option url could not be read`, {
      reason: "INVALID_BACKEND_OPTIONS",
      cause: error,
    });
  }
  if (!isServerUrl(resolved)) {
    throw new PrismError("InvalidArgument", `backend ${name}: option url is not a nats:// or tls:// URL`, {
      reason: "INVALID_BACKEND_OPTIONS",
    });
  }
  return parseServerUrl(resolved);
}
