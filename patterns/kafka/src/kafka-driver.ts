import { type Backend, type BackendDriver, type HealthReport, PrismError, resolveSecret } from "@prism/core";
import { Kafka, logLevel } from "kafkajs";
import { toPrismError } from "./errors.js";
import { isBrokerList, type KafkaOptions, parseBrokers, readKafkaOptions } from "./kafka-options.js";
import { KafkaTimeSeries } from "./kafka-timeseries.js";
import { kafkaManifest } from "./manifest.js";

/**
 * The `kafka` backend type: TimeSeries on Apache Kafka (2.4 or later; tested on 3.9 in KRaft
 * mode), a topic per namespace. Options: `brokers` (required, `host:port` list; `env:NAME` /
 * `file:/path` allowed), `topicPrefix` (`prism`), `numPartitions` (3), `replicationFactor` (1),
 * `connectTimeoutMs` (3000), `requestTimeoutMs` (10000), `retries` (3), `clockSkewMs` (60000),
 * `maxMessageBytes` (8 MiB), `maxBatchBytes` (1 MiB), `fetchBytes` (1 MiB).
 *
 * @example
 * const backend = await kafkaDriver.open({ name: "kafka-main", options: { brokers: "env:KAFKA_BROKERS" }, dataDir });
 */
export const kafkaDriver: BackendDriver = {
  type: kafkaManifest.type,
  patterns: kafkaManifest.patterns,
  validate: kafkaManifest.validate,
  async open({ name, options: raw }): Promise<Backend> {
    const { options, problems } = readKafkaOptions(raw);
    if (problems.length > 0) {
      throw new PrismError("InvalidArgument", `backend ${name} has invalid options: ${problems.join("; ")}`, {
        reason: "INVALID_BACKEND_OPTIONS",
      });
    }
    const brokers = await resolveBrokers(name, options.brokers);
    const kafka = new Kafka({
      clientId: `prism-${name}`,
      brokers,
      connectionTimeout: options.connectTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      retry: { retries: options.retries, initialRetryTime: 100, maxRetryTime: 2000 },
      // kafkajs logs request details (topics, sometimes broker errors with message metadata); the
      // backend reports failures as PrismErrors with the driver error as cause instead.
      logLevel: logLevel.NOTHING,
    });
    const timeseries = new KafkaTimeSeries(kafka, name, options);
    // No connection now: a broker that is down must not stop the gateway; calls connect on use.
    return {
      name,
      type: "kafka",
      timeseries,
      health: (signal) => health(timeseries, name, signal),
      close: () => timeseries.close(),
    };
  },
};

async function health(timeseries: KafkaTimeSeries, name: string, signal: AbortSignal): Promise<HealthReport> {
  const started = performance.now();
  const latencyMs = () => Math.round((performance.now() - started) * 100) / 100;
  try {
    await timeseries.probe(signal);
    return { ok: true, latencyMs: latencyMs() };
  } catch (error) {
    return { ok: false, message: toPrismError(error, name, signal).message, latencyMs: latencyMs() };
  }
}

/** Resolves `env:` / `file:`; never puts the broker list in errors. */
async function resolveBrokers(name: string, brokers: KafkaOptions["brokers"]): Promise<string[]> {
  let resolved: string;
  try {
    resolved = await resolveSecret(brokers);
  } catch (error) {
    // resolveSecret's messages name the variable or file, never the secret.
    throw new PrismError(
      "FailedPrecondition",
      `backend ${name}: cannot read option brokers from ${brokers}`,
      {
        reason: "BACKEND_SECRET_UNAVAILABLE",
        cause: error,
      },
    );
  }
  if (!isBrokerList(resolved)) {
    throw new PrismError("InvalidArgument", `backend ${name}: option brokers is not a host:port list`, {
      reason: "INVALID_BACKEND_OPTIONS",
    });
  }
  return parseBrokers(resolved);
}
