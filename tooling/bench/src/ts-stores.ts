import { rmSync } from "node:fs";
import { benchDir, cleanupWarning, sharedStore } from "./bench-stores.js";

/** The backends `pnpm bench ts` can measure, in the order it measures them. */
export const TS_BACKENDS = ["memory", "sqlite", "postgres", "nats", "kafka"] as const;
export type TsBackend = (typeof TS_BACKENDS)[number];

/** Where the stack's servers are. */
export interface TsEndpoints {
  readonly pgUrl: string;
  readonly natsUrl: string;
  readonly kafkaBrokers: string;
}

/**
 * One backend's storage for one run: the gateway's backend entry (secrets as `env:` references),
 * the same options for the direct client (literal), and how to remove what the run wrote.
 */
export interface TsStore {
  /** The gateway config's backend instance. */
  readonly gateway: { type: string } & Record<string, unknown>;
  /** Environment the gateway's `env:` references read. */
  readonly env: Record<string, string>;
  /** The driver options of the direct client (the same store, prefix and schema). */
  readonly direct: Record<string, unknown>;
  /** A directory of the run's own (SQLite files, the direct backend's data dir). */
  readonly dir: string;
  /** Removes the run's schema, streams or topics, and its directory; never throws. */
  cleanup(): Promise<void>;
}

/**
 * Fresh storage for one run on `backend`: a PostgreSQL schema, NATS bucket prefix or Kafka topic
 * prefix named after `run` (so runs never see each other's events), or SQLite files in a
 * temporary directory. The gateway and the direct client share it, in namespaces of their own.
 *
 * @example const store = tsStore("postgres", "1a2b3c4d", endpoints); …; await store.cleanup()
 */
export function tsStore(backend: TsBackend, run: string, endpoints: TsEndpoints): TsStore {
  if (backend === "memory" || backend === "sqlite" || backend === "postgres") {
    return sharedStore(backend, "ts", run, endpoints.pgUrl);
  }
  const dir = benchDir("ts", backend);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const prefix = `bts-${run}`;
  const warn = (what: string, error: unknown) => cleanupWarning("ts", what, error);
  switch (backend) {
    case "nats":
      return {
        gateway: { type: "nats", url: "env:PRISM_BENCH_NATS_URL", bucketPrefix: prefix },
        env: { PRISM_BENCH_NATS_URL: endpoints.natsUrl },
        direct: { url: endpoints.natsUrl, bucketPrefix: prefix },
        dir,
        async cleanup() {
          removeDir();
          try {
            const { connect } = await import("@nats-io/transport-node");
            const { jetstreamManager } = await import("@nats-io/jetstream");
            const nc = await connect({ servers: endpoints.natsUrl, timeout: 3000 });
            try {
              const jsm = await jetstreamManager(nc);
              for await (const name of jsm.streams.names()) {
                if (name.startsWith(`TS_${prefix}_`) || name.startsWith(`KV_${prefix}_`)) {
                  await jsm.streams.delete(name);
                }
              }
            } finally {
              await nc.close();
            }
          } catch (error) {
            warn(`the streams of ${prefix}`, error);
          }
        },
      };
    case "kafka":
      return {
        gateway: { type: "kafka", brokers: "env:PRISM_BENCH_KAFKA_BROKERS", topicPrefix: prefix },
        env: { PRISM_BENCH_KAFKA_BROKERS: endpoints.kafkaBrokers },
        direct: { brokers: endpoints.kafkaBrokers, topicPrefix: prefix },
        dir,
        async cleanup() {
          removeDir();
          try {
            const { Kafka, logLevel } = await import("kafkajs");
            const admin = new Kafka({
              clientId: "prism-bench-cleanup",
              brokers: endpoints.kafkaBrokers.split(",").map((b) => b.trim()),
              logLevel: logLevel.NOTHING,
            }).admin();
            await admin.connect();
            try {
              const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
              if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
            } finally {
              await admin.disconnect();
            }
          } catch (error) {
            warn(`the topics of ${prefix}`, error);
          }
        },
      };
  }
}
