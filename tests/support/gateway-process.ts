import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stackEndpoints } from "@prism/stack";
import { stringify } from "yaml";
import { launchGateway } from "./gateway-launch.js";

/** A gateway running as its own process, as users run it. */
export interface GatewayProcess {
  /** `127.0.0.1:port` it listens on. */
  address: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /**
   * `127.0.0.1:port` of its Prometheus endpoint, from its log (the line comes at info level;
   * metrics listen on a free port unless the test's config says otherwise).
   */
  metricsAddress(): Promise<string>;
  /** `127.0.0.1:port` of its admin web UI, from its log (a free port unless the config sets one). */
  adminAddress(): Promise<string>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `gateway/src/main.ts` with `config` (written to a YAML file) on a free loopback port and
 * waits until it says it is listening. `dataDir` is reused when given (for restart tests). Its
 * metrics endpoint takes a free port too (gateways of parallel tests would all want 9464).
 */
export async function startGatewayProcess(
  config: Record<string, unknown>,
  options: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<GatewayProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "prism-e2e-"));
  const file = join(dataDir, "gateway.yaml");
  const metrics = { listen: "127.0.0.1:0", ...(config.metrics as object | undefined) };
  // Gateways of parallel tests on two cores lag by design; shedding would turn that into refusals
  // the tests did not ask for. load-shedder.test.ts covers shedding.
  const overload = { shedLagMs: 0, ...(config.overload as object | undefined) };
  writeFileSync(
    file,
    stringify({ listen: { grpc: "127.0.0.1:0" }, dataDir, logLevel: "info", ...config, metrics, overload }),
  );
  const gateway = launchGateway({ args: ["--config", file], ...(options.env && { env: options.env }) });
  const address = await gateway.listening();
  const metricsAddress = () => loggedAddress(gateway.output, "prism metrics listening");
  return {
    address,
    dataDir,
    child: gateway.child,
    output: gateway.output,
    metricsAddress,
    adminAddress: () => loggedAddress(gateway.output, "prism admin UI listening"),
    stop: gateway.stop,
  };
}

/** The `address` of the first JSON log line with message `msg`, waiting up to 10 s for it. */
async function loggedAddress(output: () => string, msg: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    for (const line of output().split("\n")) {
      if (!line.includes(`"msg":"${msg}"`)) continue;
      const { address } = JSON.parse(line) as { address?: string };
      if (address) return address;
    }
    if (Date.now() > deadline) throw new Error(`gateway never logged "${msg}":\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Removes a data directory made by `startGatewayProcess`. */
export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Starts a gateway with one instance of every backend on the stack's real servers — `mem`,
 * `local` (SQLite), `pg`, `nats`, `kafka` (TimeSeries only) — each with storage of its own
 * (`prefix` plus a random suffix), plus whatever else `config` sets (namespaces, limits).
 *
 * @example const gateway = await startBackendMatrix("e2e", { namespaces: [{ name: "a", pattern: "keyvalue", backend: "pg" }] });
 */
export async function startBackendMatrix(
  prefix: string,
  config: Record<string, unknown>,
): Promise<GatewayProcess> {
  const run = randomBytes(3).toString("hex");
  const { postgresUrl, natsUrl, kafkaBrokers, gremlinUrl } = stackEndpoints();
  return startGatewayProcess(
    {
      backends: {
        mem: { type: "memory" },
        local: { type: "sqlite", path: `${prefix}.db` },
        pg: { type: "postgres", url: "env:PRISM_TEST_POSTGRES_URL", schema: `${prefix}_${run}` },
        nats: { type: "nats", url: "env:PRISM_TEST_NATS_URL", bucketPrefix: `${prefix}${run}` },
        kafka: { type: "kafka", brokers: "env:PRISM_TEST_KAFKA_BROKERS", topicPrefix: `${prefix}${run}` },
        // A prefix per run: the Gremlin Server keeps its graph across runs.
        neptune: {
          type: "neptune",
          url: "env:PRISM_TEST_GREMLIN_URL",
          prefix: `${prefix.replace(/[^A-Za-z0-9]/g, "")}${run}`,
        },
      },
      ...config,
    },
    {
      env: {
        PRISM_TEST_POSTGRES_URL: postgresUrl,
        PRISM_TEST_NATS_URL: natsUrl,
        PRISM_TEST_KAFKA_BROKERS: kafkaBrokers,
        PRISM_TEST_GREMLIN_URL: gremlinUrl,
      },
    },
  );
}
