import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { AdminService, BackfillState, ShadowMode } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import { isHealthy, stackEndpoints, startServer, stopServer } from "@prism/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b, s } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";
import { eventually } from "./outage-probes.js";

/**
 * The migration test of DESIGN §7: three gateway processes on one PostgreSQL config store, a
 * client writing and reading at a steady rate through all three, while namespaces move between
 * backends — KeyValue SQLite → PostgreSQL and PostgreSQL → NATS, TimeSeries PostgreSQL → Kafka:
 * start shadow, backfill, verify, promote, roll back, promote again. No client request may fail
 * and no acknowledged write may be lost. Then the shadow's server is stopped under load (the
 * primary never notices; the shadow's failures are counted and promotion is refused), and a
 * gateway is killed mid-backfill (another gateway resumes the job from its checkpoint).
 *
 * It stops shared servers and kills gateways, so it runs in the sequential faults phase.
 */
const run = randomBytes(3).toString("hex");
const shared = mkdtempSync(join(tmpdir(), "prism-migration-"));
const { postgresUrl, natsUrl, kafkaBrokers } = stackEndpoints();
const CONFIG = {
  backends: {
    lite: { type: "sqlite", path: join(shared, "shared.db") },
    pg: { type: "postgres", url: "env:PRISM_TEST_POSTGRES_URL", schema: `migration_${run}` },
    nats: {
      type: "nats",
      url: "env:PRISM_TEST_NATS_URL",
      bucketPrefix: `migr${run}`,
      requestTimeoutMs: 1000,
    },
    kafka: { type: "kafka", brokers: "env:PRISM_TEST_KAFKA_BROKERS", topicPrefix: `migr${run}` },
  },
  configStore: { type: "postgres", url: "env:PRISM_TEST_POSTGRES_URL", schema: `migration_cfg_${run}` },
  // The default 5 s shadow timeout: a mirrored Kafka write can take over a second on a loaded CI box.
  shadow: { statsIntervalMs: 200, backfillLeaseMs: 1500 },
};
const ENV = {
  PRISM_TEST_POSTGRES_URL: postgresUrl,
  PRISM_TEST_NATS_URL: natsUrl,
  PRISM_TEST_KAFKA_BROKERS: kafkaBrokers,
};

interface Gateway {
  process: GatewayProcess;
  admin: PromiseClient<typeof AdminService.method> & { close(): void };
  kv: PromiseClient<typeof KeyValueService.method> & { close(): void };
  ts: PromiseClient<typeof TimeSeriesService.method> & { close(): void };
}

async function startGateway(): Promise<Gateway> {
  const process = await startGatewayProcess(CONFIG, { env: ENV });
  const address = process.address;
  return {
    process,
    admin: createPromiseClient(AdminService, { address }),
    kv: createPromiseClient(KeyValueService, { address }),
    ts: createPromiseClient(TimeSeriesService, { address }),
  };
}

async function stopGateway(gateway: Gateway, signal?: NodeJS.Signals): Promise<void> {
  gateway.admin.close();
  gateway.kv.close();
  gateway.ts.close();
  await gateway.process.stop(signal);
  removeDataDir(gateway.process.dataDir);
}

const base = Date.now() - 600_000;

/**
 * A client at a fixed rate through every gateway in turn: KeyValue puts (each gateway overwrites
 * its own keys, so two gateways never race one key), TimeSeries writes and Gets of acknowledged
 * keys. Remembers every acknowledged write and every failed call.
 */
class SteadyLoad {
  readonly failures: string[] = [];
  /** namespace → id → last acknowledged value. */
  readonly acked = new Map<string, Map<string, string>>();
  /** series → acknowledged event ids. */
  readonly events = new Map<string, Set<string>>();
  staleReads = 0;
  calls = 0;
  private n = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private gateways: Gateway[],
    private readonly kvNamespaces: string[],
    private readonly tsNamespace: string | undefined,
  ) {}

  start(intervalMs = 8): void {
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  use(gateways: Gateway[]): void {
    this.gateways = gateways;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
  }

  private tick(): void {
    const n = this.n++;
    const index = n % this.gateways.length;
    const gateway = this.gateways[index]!;
    const op = Math.floor(n / this.gateways.length) % (this.tsNamespace ? 4 : 3);
    let call: Promise<void>;
    if (op < this.kvNamespaces.length && op < 2) {
      const namespace = this.kvNamespaces[op]!;
      const id = `g${index}-${Math.floor(n / 12) % 40}`;
      const value = `v${n}`;
      call = gateway.kv
        .put({ namespace, id, items: [{ key: new Uint8Array(), value: b(value) }] })
        .then(() => {
          const ids = this.acked.get(namespace) ?? new Map<string, string>();
          ids.set(id, value);
          this.acked.set(namespace, ids);
        });
    } else if (op === 3 && this.tsNamespace) {
      const seriesId = `s${index}`;
      const eventId = `e${n}`;
      call = gateway.ts
        .write({
          namespace: this.tsNamespace,
          seriesId,
          events: [{ eventTime: timestampFromMs(Date.now()), eventId, payload: b(eventId), tags: {} }],
        })
        .then(() => {
          const ids = this.events.get(seriesId) ?? new Set<string>();
          ids.add(eventId);
          this.events.set(seriesId, ids);
        });
    } else {
      const namespace = this.kvNamespaces[n % this.kvNamespaces.length]!;
      const known = [...(this.acked.get(namespace) ?? new Map()).entries()];
      if (known.length === 0) return;
      const [id, value] = known[n % known.length]!;
      call = gateway.kv.get({ namespace, id }).then((answer) => {
        // A read through another gateway may briefly miss a mirrored write: stale, not failed.
        if (s(answer.items[0]?.value ?? new Uint8Array()) !== value) this.staleReads++;
      });
    }
    this.calls++;
    const tracked = call.catch((error: Error) => {
      this.failures.push(`${index}: ${error.message}`);
    });
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }
}

let gateways: Gateway[] = [];

beforeAll(async () => {
  gateways = [await startGateway(), await startGateway(), await startGateway()];
}, 120_000);

afterAll(async () => {
  if (!(await isHealthy("nats"))) await startServer("nats");
  await Promise.all(gateways.map((gateway) => stopGateway(gateway).catch(() => undefined)));
  rmSync(shared, { recursive: true, force: true });
});

const g0 = () => gateways[0]!;
const g1 = () => gateways[1]!;
const g2 = () => gateways[2]!;

async function backfillToEnd(gateway: Gateway, namespace: string, maxRecordsPerSecond = 5000) {
  const { job } = await gateway.admin.startBackfill({ namespace, maxRecordsPerSecond });
  return eventually(async () => {
    const now = (await gateway.admin.getBackfill({ id: job!.id })).job!;
    if (now.state === BackfillState.RUNNING)
      throw new Error(`backfill still ${now.phase}: ${now.recordsCopied}`);
    return now;
  }, 60_000);
}

async function differences(gateway: Gateway, namespace: string) {
  let last: { missing: bigint; differing: bigint; extra: bigint; examined: bigint } | undefined;
  for await (const progress of gateway.admin.verifyShadow({ namespace })) last = progress;
  return last!;
}

/** Waits until all three gateways publish counters for the namespace's current version. */
async function servedEverywhere(namespace: string): Promise<void> {
  await eventually(async () => {
    const answer = await g0().admin.getShadowStatus({ namespace });
    const versions = answer.gateways.map((gateway) => gateway.namespaceVersion);
    if (versions.length !== 3 || versions.some((v) => v !== answer.namespaceVersion))
      throw new Error(`gateways serve ${versions.join(",")} of ${answer.namespaceVersion}`);
  }, 10_000);
}

async function drained(namespace: string): Promise<void> {
  await eventually(async () => {
    const { totals } = await g0().admin.getShadowStatus({ namespace });
    if (totals!.queueDepth !== 0n) throw new Error(`queue depth ${totals!.queueDepth}`);
  }, 10_000);
  await sleep(500);
}

describe("migrating live namespaces across three gateways", () => {
  const kvA = "migrate-lite-pg";
  const kvB = "migrate-pg-nats";
  const tsC = "migrate-ts-pg-kafka";

  it("moves KeyValue sqlite → postgres, postgres → nats and TimeSeries postgres → kafka with 0 failed requests and 0 lost writes", async () => {
    await g0().admin.applyNamespace({
      spec: { case: "yaml", value: `name: ${kvA}\npattern: keyvalue\nbackend: lite` },
    });
    await g1().admin.applyNamespace({
      spec: { case: "yaml", value: `name: ${kvB}\npattern: keyvalue\nbackend: pg` },
    });
    await g2().admin.applyNamespace({
      spec: { case: "yaml", value: `name: ${tsC}\npattern: timeseries\nbackend: pg` },
    });
    await eventually(async () => {
      for (const gateway of gateways) await gateway.kv.get({ namespace: kvB, id: "probe" });
    }, 5000);
    for (let i = 0; i < 300; i++) {
      const gateway = gateways[i % 3]!;
      await gateway.kv.put({
        namespace: kvA,
        id: `seed-${i}`,
        items: [{ key: new Uint8Array(), value: b(`a${i}`) }],
      });
      await gateway.kv.put({
        namespace: kvB,
        id: `seed-${i}`,
        items: [{ key: new Uint8Array(), value: b(`b${i}`) }],
      });
    }
    for (const series of ["old-1", "old-2"]) {
      const events = Array.from({ length: 200 }, (_, i) => ({
        eventTime: timestampFromMs(base + i),
        eventId: `${series}-${i}`,
        payload: b(`p${i}`),
        tags: { series },
      }));
      await g0().ts.write({ namespace: tsC, seriesId: series, events });
    }

    const load = new SteadyLoad(gateways, [kvA, kvB], tsC);
    load.start();
    const moves: [string, string][] = [
      [kvA, "pg"],
      [kvB, "nats"],
      [tsC, "kafka"],
    ];
    for (const [namespace, target] of moves) {
      await g0().admin.startShadow({ namespace, shadow: { backend: target, mode: ShadowMode.DUAL_WRITE } });
      await servedEverywhere(namespace);
      const job = await backfillToEnd(g1(), namespace);
      expect(job.state, job.error).toBe(BackfillState.SUCCEEDED);
      expect(await differences(g2(), namespace)).toMatchObject({ missing: 0n, differing: 0n, extra: 0n });
      await g2().admin.setShadowMode({ namespace, mode: ShadowMode.SHADOW_READ, sampleRate: 0.5 });
      const promoted = await g0().admin.promoteShadow({ namespace });
      expect(promoted.namespace?.backend).toBe(target);
      await servedEverywhere(namespace);
      await sleep(1000);
      await g1().admin.rollbackShadow({ namespace });
      await servedEverywhere(namespace);
      await sleep(1000);
      const again = await g2().admin.promoteShadow({ namespace });
      expect(again.namespace?.backend).toBe(target);
      await servedEverywhere(namespace);
    }
    await sleep(1000);
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(load.calls).toBeGreaterThan(1000);

    for (const namespace of [kvA, kvB, tsC]) await drained(namespace);
    for (const [namespace, ids] of load.acked) {
      expect(ids.size).toBeGreaterThan(100);
      for (const gateway of gateways) {
        for (const [id, value] of ids) {
          const answer = await gateway.kv.get({ namespace, id });
          expect(s(answer.items[0]?.value ?? new Uint8Array()), `${namespace}/${id}`).toBe(value);
        }
      }
    }
    for (const [seriesId, ids] of load.events) {
      const stored = new Set<string>();
      let pageToken = "";
      do {
        const read = await g0().ts.read({
          namespace: tsC,
          seriesId,
          start: timestampFromMs(Date.now() - 600_000),
          pageToken,
        });
        for (const event of read.events) stored.add(event.eventId);
        pageToken = read.nextPageToken;
      } while (pageToken !== "");
      expect(
        [...ids].filter((id) => !stored.has(id)),
        seriesId,
      ).toEqual([]);
    }
    for (const namespace of [kvA, kvB, tsC]) {
      expect(await differences(g1(), namespace), namespace).toMatchObject({
        missing: 0n,
        differing: 0n,
        extra: 0n,
      });
    }
  }, 300_000);

  it("keeps the primary answering when the shadow's server stops, counts the shadow's failures, and refuses to promote", async () => {
    const namespace = "migrate-shadow-dies";
    await g0().admin.applyNamespace({
      spec: {
        case: "yaml",
        value: `name: ${namespace}\npattern: keyvalue\nbackend: pg\nshadow: { backend: nats }`,
      },
    });
    await servedEverywhere(namespace).catch(() => undefined);
    await backfillToEnd(g0(), namespace);
    const load = new SteadyLoad(gateways, [namespace], undefined);
    load.start();
    try {
      await sleep(500);
      await stopServer("nats");
      await sleep(3000);
    } finally {
      await load.stop();
      await startServer("nats");
    }
    expect(load.failures).toEqual([]);
    const { totals } = await g0().admin.getShadowStatus({ namespace });
    expect(totals!.writesFailed + totals!.writesDropped).toBeGreaterThan(0n);
    const refused = await rpcFailure(g1().admin.promoteShadow({ namespace }));
    expect(refused.details.reason).toBe("SHADOW_PROMOTE_UNSAFE");
    expect(refused.message).toMatch(/dropped|failed/);
    await eventually(async () => {
      if (!(await isHealthy("nats"))) throw new Error("nats not back");
    }, 30_000);
  }, 120_000);

  it("resumes a backfill on another gateway when the gateway running it is killed", async () => {
    const namespace = "migrate-resume";
    await g0().admin.applyNamespace({
      spec: { case: "yaml", value: `name: ${namespace}\npattern: keyvalue\nbackend: pg` },
    });
    for (let i = 0; i < 1500; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          g0().kv.put({
            namespace,
            id: `r-${i + j}`,
            items: [{ key: new Uint8Array(), value: b(`v${i + j}`) }],
          }),
        ),
      );
    }
    await g0().admin.startShadow({ namespace, shadow: { backend: "lite" } });
    const victim = g2();
    const { job } = await victim.admin.startBackfill({ namespace, maxRecordsPerSecond: 300 });
    await sleep(2000);
    const before = (await g0().admin.getBackfill({ id: job!.id })).job!;
    expect(before.state).toBe(BackfillState.RUNNING);
    expect(before.recordsCopied).toBeGreaterThan(0n);
    await victim.process.stop("SIGKILL");
    gateways = gateways.slice(0, 2);
    const after = await eventually(async () => {
      const now = (await g0().admin.getBackfill({ id: job!.id })).job!;
      if (now.state === BackfillState.RUNNING) throw new Error(`still running at ${now.recordsCopied}`);
      return now;
    }, 60_000);
    expect(after.state, after.error).toBe(BackfillState.SUCCEEDED);
    expect(after.owner).not.toBe(before.owner);
    expect(after.recordsCopied).toBeGreaterThanOrEqual(1500n);
    expect(await differences(g1(), namespace)).toMatchObject({ missing: 0n, differing: 0n, extra: 0n });
    victim.admin.close();
    victim.kv.close();
    victim.ts.close();
    removeDataDir(victim.process.dataDir);
  }, 120_000);
});
