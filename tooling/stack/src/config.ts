import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Fixed loopback ports. They are deliberately not the defaults (5432, 4222, 9092, 8182) so the
 * stack never collides with a server a developer already runs.
 */
export const PORTS = {
  postgres: 15432,
  nats: 14222,
  natsMonitor: 18222,
  kafka: 19092,
  kafkaController: 19093,
  gremlin: 18182,
} as const;

/**
 * Versions fetched from Maven Central (Kafka 3.9.x is the last 3.x line: KRaft, runs on Java 17)
 * and, for NATS, built with `go install` from the Go module proxy (ADR-0010).
 */
export const VERSIONS = {
  nats: "2.15.2",
  kafka: "3.9.1",
  scala: "2.13",
  tinkerpop: "3.7.4",
} as const;

/**
 * Dev-only credentials for the stack's Postgres. They guard nothing: the server listens on
 * 127.0.0.1 only and holds throwaway test data.
 */
export const POSTGRES_CREDENTIALS = { user: "prism", password: "prism", database: "prism" } as const;

/** Where clients reach each server. */
export interface StackEndpoints {
  /** @example "postgres://prism:prism@127.0.0.1:15432/prism" */
  readonly postgresUrl: string;
  /** @example "nats://127.0.0.1:14222" */
  readonly natsUrl: string;
  /** Comma-separated bootstrap brokers. @example "127.0.0.1:19092" */
  readonly kafkaBrokers: string;
  /** @example "ws://127.0.0.1:18182/gremlin" */
  readonly gremlinUrl: string;
}

/** The addresses of the servers this stack runs. */
export const STACK_ENDPOINTS: StackEndpoints = Object.freeze({
  postgresUrl: `postgres://${POSTGRES_CREDENTIALS.user}:${POSTGRES_CREDENTIALS.password}@127.0.0.1:${PORTS.postgres}/${POSTGRES_CREDENTIALS.database}`,
  natsUrl: `nats://127.0.0.1:${PORTS.nats}`,
  kafkaBrokers: `127.0.0.1:${PORTS.kafka}`,
  gremlinUrl: `ws://127.0.0.1:${PORTS.gremlin}/gremlin`,
});

/** The environment variables the test suites read, one per endpoint. */
export const ENDPOINT_ENV_VARS: Readonly<Record<keyof StackEndpoints, string>> = Object.freeze({
  postgresUrl: "PRISM_TEST_POSTGRES_URL",
  natsUrl: "PRISM_TEST_NATS_URL",
  kafkaBrokers: "PRISM_TEST_KAFKA_BROKERS",
  gremlinUrl: "PRISM_TEST_GREMLIN_URL",
});

/**
 * The endpoints tests should use: each `PRISM_TEST_*` variable that is set (non-empty) wins over the
 * stack's own address, so CI or a developer can point a suite at another server.
 *
 * @example
 * const { postgresUrl } = stackEndpoints();
 */
export function stackEndpoints(env: NodeJS.ProcessEnv = process.env): StackEndpoints {
  const pick = (key: keyof StackEndpoints): string => env[ENDPOINT_ENV_VARS[key]] || STACK_ENDPOINTS[key];
  return Object.freeze({
    postgresUrl: pick("postgresUrl"),
    natsUrl: pick("natsUrl"),
    kafkaBrokers: pick("kafkaBrokers"),
    gremlinUrl: pick("gremlinUrl"),
  });
}

/** The repository root, found from this file's location (tooling/stack/src). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The directory the stack owns: `$PRISM_STACK_DIR`, else `.stack/` at the repo root. */
export function stackDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PRISM_STACK_DIR ? resolve(env.PRISM_STACK_DIR) : join(REPO_ROOT, ".stack");
}
