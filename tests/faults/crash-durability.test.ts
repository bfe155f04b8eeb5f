import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { deleteNatsStreams, isHealthy, stackEndpoints, startServer } from "@prism/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freeLoopbackPort } from "../support/gateway-launch.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import {
  type Clients,
  connect,
  disconnect,
  type Ledger,
  lostEvents,
  lostKeyValues,
  writeUntilStopped,
} from "./crash-writers.js";
import { eventually } from "./outage-probes.js";

/**
 * Durability under crash (issue 13): writers stream acknowledged KeyValue Puts (every 50th value
 * above the chunk size) and synchronous TimeSeries Writes to namespaces on SQLite, PostgreSQL
 * and NATS while the gateway is `kill -9`ed at seeded random moments and restarted on the same
 * port and data directory. Afterwards every acknowledged write must be there: an OK answer means
 * the backend committed it, so a crash of the gateway can lose only unanswered writes.
 *
 * It kills gateways under load, so it runs in the sequential faults phase.
 */
const run = randomBytes(3).toString("hex");
const SEED = 0x13_03;
const CRASHES = 4;
/** Writer loops per namespace (each its own ids or series). */
const WRITERS = 2;
/** A gateway is killed this long (plus up to {@link CRASH_JITTER_MS}) after it served again. */
const CRASH_AFTER_MS = 1_500;
const CRASH_JITTER_MS = 2_500;
/** From spawning a restarted gateway to every namespace acknowledging a write again. */
const SERVE_AGAIN_MS = 30_000;
const BACKENDS = ["lite", "pg", "nats"] as const;
const PATTERNS = ["keyvalue", "timeseries"] as const;

interface SqlClient {
  connect(): Promise<void>;
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
}
/** `pg` as the gateway package depends on it (the tests package does not). */
const { Client } = createRequire(resolve(import.meta.dirname, "../../gateway/package.json"))("pg") as {
  Client: new (options: { connectionString: string; connectionTimeoutMillis: number }) => SqlClient;
};

/** mulberry32: the crash moments are random but the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves once `port` can be bound again: the killed gateway's listener is gone. */
async function portReleased(port: number): Promise<void> {
  await eventually(
    () =>
      new Promise<void>((done, fail) => {
        const server = createServer();
        server.once("error", fail);
        server.listen(port, "127.0.0.1", () => server.close(() => done()));
      }),
    10_000,
    50,
  );
}

describe("a gateway killed (kill -9) and restarted under write load", () => {
  const { postgresUrl, natsUrl } = stackEndpoints();
  const schema = `crash_${run}`;
  const prefix = `crash${run}`;
  const env = { PRISM_TEST_POSTGRES_URL: postgresUrl, PRISM_TEST_NATS_URL: natsUrl };
  const ledgers: Ledger[] = BACKENDS.flatMap((backend) =>
    PATTERNS.map((pattern) => ({
      namespace: `crash-${pattern === "keyvalue" ? "kv" : "ts"}-${backend}`,
      pattern,
      acked: [],
      failed: 0,
    })),
  );
  let config: Record<string, unknown>;
  let gateway: GatewayProcess | undefined;

  beforeAll(async () => {
    for (const server of ["postgres", "nats"] as const) {
      if (!(await isHealthy(server))) await startServer(server);
    }
    const port = await freeLoopbackPort();
    config = {
      listen: { grpc: `127.0.0.1:${port}` },
      admin: { enabled: false },
      backends: {
        lite: { type: "sqlite", path: "crash.db" },
        pg: { type: "postgres", url: "env:PRISM_TEST_POSTGRES_URL", schema },
        nats: { type: "nats", url: "env:PRISM_TEST_NATS_URL", bucketPrefix: prefix },
      },
      namespaces: ledgers.map((ledger, i) => ({
        name: ledger.namespace,
        pattern: ledger.pattern,
        backend: BACKENDS[Math.floor(i / PATTERNS.length)],
      })),
    };
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop("SIGKILL");
    if (gateway) removeDataDir(gateway.dataDir);
    await deleteNatsStreams(`KV_${prefix}_`);
    await deleteNatsStreams(`TS_${prefix}_`);
    const sql = new Client({ connectionString: postgresUrl, connectionTimeoutMillis: 5_000 });
    await sql.connect();
    await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end();
  }, 60_000);

  it(`keeps every acknowledged Put and Write on SQLite, PostgreSQL and NATS across ${CRASHES} crashes`, async () => {
    const since = Date.now() - 1_000;
    const random = seeded(SEED);
    gateway = await startGatewayProcess(config, { env });
    const { dataDir } = gateway;
    const port = Number(gateway.address.split(":").at(-1));
    let clients: Clients | undefined = connect(gateway.address);
    let writing = true;
    const writers = ledgers.flatMap((ledger) =>
      Array.from({ length: WRITERS }, (_, w) =>
        writeUntilStopped(
          ledger,
          w,
          () => clients,
          () => writing,
        ),
      ),
    );

    /** Waits until every namespace acknowledged a write after `counts` were taken; returns the ms. */
    const servedAgain = async (counts: number[], started: number): Promise<number> => {
      await eventually(
        async () => {
          const idle = ledgers.filter((ledger, i) => ledger.acked.length <= counts[i]!);
          if (idle.length > 0) throw new Error(`no write acknowledged by ${idle.map((l) => l.namespace)}`);
        },
        SERVE_AGAIN_MS,
        20,
      );
      return Date.now() - started;
    };
    const snapshot = () => ledgers.map((ledger) => ledger.acked.length);

    const restarts: { killedAfterMs: number; signal: string | null; servedMs: number }[] = [];
    try {
      await servedAgain(snapshot(), Date.now());
      for (let crash = 0; crash < CRASHES; crash++) {
        const killedAfterMs = Math.round(CRASH_AFTER_MS + random() * CRASH_JITTER_MS);
        await sleep(killedAfterMs);
        // The whole process group: tsx and the gateway's node process under it.
        await gateway.stop("SIGKILL");
        const signal = gateway.child.signalCode;
        const dead = clients;
        clients = undefined;
        disconnect(dead);
        await portReleased(port);

        const started = Date.now();
        gateway = await startGatewayProcess(config, { env, dataDir });
        expect(gateway.address).toBe(`127.0.0.1:${port}`);
        const counts = snapshot();
        clients = connect(gateway.address);
        restarts.push({ killedAfterMs, signal, servedMs: await servedAgain(counts, started) });
      }
      // A little more load on the last restarted gateway, then the writers stop.
      await sleep(1_000);
    } finally {
      writing = false;
      await Promise.all(writers);
    }

    // A clean restart, then everything is read back through the gateway.
    expect(await gateway.stop("SIGTERM")).toBe(0);
    disconnect(clients);
    await portReleased(port);
    gateway = await startGatewayProcess(config, { env, dataDir });
    clients = connect(gateway.address);
    const reader = clients;
    const lost = await Promise.all(
      ledgers.map((ledger) =>
        ledger.pattern === "keyvalue"
          ? lostKeyValues(reader.kv, ledger)
          : lostEvents(reader.ts, ledger, WRITERS, since),
      ),
    );
    disconnect(clients);

    console.log(
      `crash durability: ${restarts.length} kills, ` +
        restarts
          .map((r) => `killed after ${r.killedAfterMs} ms, served again in ${r.servedMs} ms`)
          .join("; "),
    );
    for (const [i, ledger] of ledgers.entries()) {
      console.log(
        `crash durability ${ledger.namespace}: ${ledger.acked.length} acknowledged, ` +
          `${ledger.failed} failed, ${lost[i]!.length} lost`,
      );
    }
    expect(restarts.map((r) => r.signal)).toEqual(Array(CRASHES).fill("SIGKILL"));
    for (const [i, ledger] of ledgers.entries()) {
      expect(ledger.acked.length, `${ledger.namespace} acknowledged writes`).toBeGreaterThan(0);
      expect(lost[i]!.slice(0, 20), `${ledger.namespace}: acknowledged but lost`).toEqual([]);
    }
    // Large (chunked) values were acknowledged, and so verified, on every KeyValue backend.
    for (const ledger of ledgers.filter((l) => l.pattern === "keyvalue")) {
      expect(ledger.acked.filter((id) => id.startsWith("big-")).length, ledger.namespace).toBeGreaterThan(0);
    }
    // Some writes were cut off by the crashes (else nothing was in flight when the gateway died).
    expect(ledgers.reduce((sum, ledger) => sum + ledger.failed, 0)).toBeGreaterThan(0);
  }, 150_000);
});
