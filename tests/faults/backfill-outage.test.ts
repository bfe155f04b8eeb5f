import { setTimeout as sleep } from "node:timers/promises";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { AdminService, type BackfillJob, BackfillState } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { isHealthy, startServer, stopServer } from "@prism/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startBackendMatrix } from "../support/gateway-process.js";
import { eventually } from "./outage-probes.js";

/**
 * A backfill outlives an outage of its shadow: one gateway copies a PostgreSQL namespace into
 * NATS, NATS is stopped mid-copy and started again seconds later, and the same job — retrying its
 * page with backoff, its lease renewed, the error visible in GetBackfill meanwhile — carries on
 * to the end with every record on the shadow. A job allowed no retries fails instead, and the
 * next StartBackfill continues from its checkpoint.
 *
 * Stops the shared NATS server, so it runs in the sequential fault phase, and always leaves NATS
 * running.
 */
const RECORDS = 400;
/** Records a second the backfills copy: 400 records take ~4 s, long enough to stop NATS mid-copy. */
const RATE = 100;

type Admin = PromiseClient<typeof AdminService.method> & { close(): void };
type Kv = PromiseClient<typeof KeyValueService.method> & { close(): void };

/** The default gateway (retries for two minutes), and one that gives a backfill no retries. */
let patient: GatewayProcess;
let impatient: GatewayProcess;
let admin: Admin;
let kv: Kv;

beforeAll(async () => {
  patient = await startBackendMatrix("bfout", {});
  impatient = await startBackendMatrix("bfout0", { shadow: { backfillGiveUpMs: 0 } });
}, 90_000);

afterAll(async () => {
  if (!(await isHealthy("nats"))) await startServer("nats");
  for (const client of [admin, kv]) client?.close();
  for (const gateway of [patient, impatient]) {
    await gateway?.stop();
    if (gateway) removeDataDir(gateway.dataDir);
  }
});

function use(gateway: GatewayProcess): void {
  for (const client of [admin, kv]) client?.close();
  admin = createPromiseClient(AdminService, { address: gateway.address });
  kv = createPromiseClient(KeyValueService, { address: gateway.address });
}

async function verified(name: string) {
  let last: { missing: bigint; differing: bigint; extra: bigint; examined: bigint } | undefined;
  for await (const progress of admin.verifyShadow({ namespace: name })) last = progress;
  return last;
}

/** A pg namespace of RECORDS records with a NATS shadow (mirroring off: the backfill does the work). */
async function namespaceWithShadow(name: string): Promise<void> {
  await admin.applyNamespace({
    spec: { case: "yaml", value: `name: ${name}\npattern: keyvalue\nbackend: pg` },
  });
  for (let i = 0; i < RECORDS; i++) {
    await kv.put({ namespace: name, id: `r-${i}`, items: [{ key: new Uint8Array(), value: b(`v${i}`) }] });
  }
  await admin.startShadow({ namespace: name, shadow: { backend: "nats" } });
}

/** Through `gateway`: the namespace, its shadow, and a throttled backfill that has copied 50 records. */
async function backfillUnderWay(gateway: GatewayProcess, name: string): Promise<string> {
  use(gateway);
  await namespaceWithShadow(name);
  const { job: started } = await admin.startBackfill({ namespace: name, maxRecordsPerSecond: RATE });
  await untilCopied(started!.id, 50n);
  return started!.id;
}

async function job(id: string): Promise<BackfillJob> {
  return (await admin.getBackfill({ id })).job!;
}

async function untilEnded(id: string, timeoutMs: number): Promise<BackfillJob> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await job(id);
    if (current.state !== BackfillState.RUNNING || Date.now() > deadline) return current;
    await sleep(100);
  }
}

async function untilCopied(id: string, records: bigint): Promise<BackfillJob> {
  return eventually(async () => {
    const current = await job(id);
    if (current.recordsCopied < records) throw new Error(`${current.recordsCopied} records copied so far`);
    return current;
  }, 30_000);
}

describe("a backfill whose shadow goes away", () => {
  it("retries its page while NATS is down and finishes once it is back, every record copied", async () => {
    const name = "bf-outage";
    const id = await backfillUnderWay(patient, name);
    try {
      await stopServer("nats");
      // Down long enough for several tries (200 ms, 400 ms, 800 ms … of backoff) to fail.
      const during = await eventually(async () => {
        const current = await job(id);
        if (current.pageRetries < 2n) throw new Error(`${current.pageRetries} retries so far`);
        return current;
      }, 30_000);
      expect(during.state).toBe(BackfillState.RUNNING);
      expect(during.error).not.toBe("");
      expect(during.recordsCopied).toBeLessThan(BigInt(RECORDS));
    } finally {
      await startServer("nats");
    }
    const ended = await untilEnded(id, 90_000);
    expect(ended).toMatchObject({ state: BackfillState.SUCCEEDED, error: "", resumedFrom: "" });
    expect(ended.pageRetries).toBeGreaterThanOrEqual(2n);
    expect(await verified(name)).toMatchObject({
      missing: 0n,
      differing: 0n,
      extra: 0n,
      examined: BigInt(RECORDS),
    });
  }, 180_000);

  it("fails at once with no retries allowed, and the next backfill continues from its checkpoint", async () => {
    const name = "bf-give-up";
    const id = await backfillUnderWay(impatient, name);
    let failed: BackfillJob;
    try {
      await stopServer("nats");
      failed = await untilEnded(id, 60_000);
    } finally {
      await startServer("nats");
    }
    expect(failed.state).toBe(BackfillState.FAILED);
    expect(failed.error).not.toBe("");
    expect(failed.recordsCopied).toBeGreaterThanOrEqual(50n);
    expect(failed.recordsCopied).toBeLessThan(BigInt(RECORDS));
    // Once the gateway reaches NATS again, the next backfill starts where the failed one
    // stopped, not at zero.
    await admin.applyNamespace({
      spec: { case: "yaml", value: "name: bf-nats-probe\npattern: keyvalue\nbackend: nats" },
    });
    await eventually(
      () =>
        kv.put({ namespace: "bf-nats-probe", id: "p", items: [{ key: new Uint8Array(), value: b("p") }] }),
      30_000,
    );
    const { job: next } = await admin.startBackfill({ namespace: name, maxRecordsPerSecond: 10_000 });
    expect(next).toMatchObject({ resumedFrom: id, recordsCopied: failed.recordsCopied });
    const ended = await untilEnded(next!.id, 90_000);
    expect(ended.state, ended.error).toBe(BackfillState.SUCCEEDED);
    expect(ended.recordsCopied).toBeGreaterThanOrEqual(BigInt(RECORDS));
    expect(await verified(name)).toMatchObject({ missing: 0n, differing: 0n, extra: 0n });
  }, 180_000);
});
