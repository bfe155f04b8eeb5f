import { setTimeout as sleep } from "node:timers/promises";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import {
  AdminService,
  BackfillState,
  type GetShadowStatusResponse,
  ShadowMode,
  type VerifyShadowResponse,
} from "@prism/proto/prism/admin/v1/admin";
import { GraphService, type Value } from "@prism/proto/prism/graph/v1/graph";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b, s } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startBackendMatrix } from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";

/**
 * Shadow traffic through the public API, on one gateway (DESIGN §7): a namespace on one backend
 * gains a shadow on another, writes are mirrored, a backfill copies what was there before,
 * VerifyShadow finds the differences (then none), sampled reads are compared, and promote /
 * rollback swap the backends with every acknowledged write readable on both sides — for
 * KeyValue (with a chunked large value), TimeSeries and Graph. The migration under load across
 * three gateways, and backends and gateways dying, are in `tests/faults/shadow-migration.test.ts`.
 */
type Admin = PromiseClient<typeof AdminService.method> & { close(): void };
let gateway: GatewayProcess;
let admin: Admin;
let kv: PromiseClient<typeof KeyValueService.method> & { close(): void };
let ts: PromiseClient<typeof TimeSeriesService.method> & { close(): void };
let graph: PromiseClient<typeof GraphService.method> & { close(): void };

beforeAll(async () => {
  gateway = await startBackendMatrix("shadow", { shadow: { statsIntervalMs: 200 } });
  admin = createPromiseClient(AdminService, { address: gateway.address });
  kv = createPromiseClient(KeyValueService, { address: gateway.address });
  ts = createPromiseClient(TimeSeriesService, { address: gateway.address });
  graph = createPromiseClient(GraphService, { address: gateway.address });
}, 90_000);

afterAll(async () => {
  for (const client of [admin, kv, ts, graph]) client?.close();
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

const apply = (yaml: string) => admin.applyNamespace({ spec: { case: "yaml", value: yaml } });

/** Follows a backfill until it ends; returns the final job. */
async function backfill(namespace: string, maxRecordsPerSecond = 20_000, fromScratch = false) {
  let { job } = await admin.startBackfill({ namespace, maxRecordsPerSecond, fromScratch });
  while (job!.state === BackfillState.RUNNING) {
    await sleep(100);
    job = (await admin.getBackfill({ id: job!.id })).job;
  }
  return job!;
}

/** Runs VerifyShadow to the end; returns every progress message. */
async function verify(namespace: string): Promise<VerifyShadowResponse[]> {
  const messages: VerifyShadowResponse[] = [];
  for await (const progress of admin.verifyShadow({ namespace })) messages.push(progress);
  return messages;
}

/** GetShadowStatus once `ready` holds (counters are published every 200 ms here). */
async function statusWhen(namespace: string, ready: (s: GetShadowStatusResponse) => boolean) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await admin.getShadowStatus({ namespace });
    if (ready(answer) || Date.now() > deadline) return answer;
    await sleep(100);
  }
}

const flat = (value: string | Uint8Array) => [
  { key: new Uint8Array(), value: typeof value === "string" ? b(value) : value },
];
const readValue = async (namespace: string, id: string) =>
  s((await kv.get({ namespace, id })).items[0]?.value ?? new Uint8Array());

describe("KeyValue shadow: sqlite → postgres", () => {
  const ns = "shadow-kv";
  const large = new Uint8Array(3 << 20).map((_, i) => (i * 7) % 251);

  it("mirrors writes, backfills, verifies, compares reads, promotes and rolls back", async () => {
    await apply(`name: ${ns}\npattern: keyvalue\nbackend: local`);
    for (let i = 0; i < 150; i++) await kv.put({ namespace: ns, id: `old-${i}`, items: flat(`v${i}`) });
    await kv.put({ namespace: ns, id: "large", items: flat(large) });

    const started = await admin.startShadow({
      namespace: ns,
      shadow: { backend: "pg", mode: ShadowMode.DUAL_WRITE },
    });
    expect(started.namespace).toMatchObject({ backend: "local", shadow: { backend: "pg" } });
    // Written after the shadow started: mirrored, so present on both sides without a backfill.
    await kv.put({ namespace: ns, id: "new-1", items: flat("mirrored") });
    await kv.put({ namespace: ns, id: "old-1", items: flat("overwritten") });

    const before = (await verify(ns)).at(-1)!;
    expect(before).toMatchObject({ done: true, differing: 0n, extra: 0n });
    // old-1 was rewritten after the shadow started, so the shadow holds it; the rest is missing.
    expect(before.missing).toBe(150n);
    expect(before.samples[0]?.summary).toBe("only in the primary");

    // Compared before the backfill: the shadow lacks old-5, a mismatch sampled without its value.
    await admin.setShadowMode({ namespace: ns, mode: ShadowMode.SHADOW_READ, sampleRate: 1 });
    expect(await readValue(ns, "old-5")).toBe("v5");
    const mismatched = await statusWhen(ns, (st) => st.totals!.readsMismatched >= 1n);
    expect(mismatched.recentMismatches.map(({ id, summary }) => ({ id, summary }))).toEqual([
      { id: "old-5", summary: "items: primary 1, shadow 0" },
    ]);
    await admin.setShadowMode({ namespace: ns, mode: ShadowMode.DUAL_WRITE });

    // Nothing is promoted before a backfill.
    const refused = await rpcFailure(admin.promoteShadow({ namespace: ns }), status.FAILED_PRECONDITION);
    expect(refused.details.reason).toBe("SHADOW_PROMOTE_UNSAFE");
    expect(refused.message).toMatch(/no backfill between local and pg has succeeded/);

    const job = await backfill(ns);
    expect(job).toMatchObject({ state: BackfillState.SUCCEEDED, recordsTotal: 152n, recordsCopied: 152n });
    expect(job.bytesCopied).toBeGreaterThan(BigInt(large.length));
    const after = (await verify(ns)).at(-1)!;
    expect(after).toMatchObject({ done: true, missing: 0n, differing: 0n, extra: 0n, examined: 152n });

    await admin.setShadowMode({ namespace: ns, mode: ShadowMode.SHADOW_READ, sampleRate: 1 });
    for (let i = 0; i < 20; i++) expect(await readValue(ns, `old-${i + 2}`)).toBe(`v${i + 2}`);
    const compared = await statusWhen(ns, (st) => st.totals!.readsMatched >= 20n);
    expect(compared.totals).toMatchObject({
      readsMatched: 20n,
      readsMismatched: 1n,
      writesFailed: 0n,
      writesDropped: 0n,
    });
    expect(compared.gateways).toHaveLength(1);

    const promoted = await admin.promoteShadow({ namespace: ns });
    expect(promoted.namespace).toMatchObject({
      backend: "pg",
      shadow: { backend: "local", mode: ShadowMode.DUAL_WRITE },
    });
    expect(await readValue(ns, "old-1")).toBe("overwritten");
    expect(await readValue(ns, "new-1")).toBe("mirrored");
    const read = (await kv.get({ namespace: ns, id: "large" })).items[0]!.value;
    expect(Buffer.compare(read, large)).toBe(0);
    await kv.put({ namespace: ns, id: "while-promoted", items: flat("on pg") });

    const rolledBack = await admin.rollbackShadow({ namespace: ns });
    expect(rolledBack.namespace).toMatchObject({ backend: "local", shadow: { backend: "pg" } });
    // Written while pg was primary: mirrored to local, so the rollback lost nothing.
    expect(await readValue(ns, "while-promoted")).toBe("on pg");
    expect((await verify(ns)).at(-1)).toMatchObject({ missing: 0n, differing: 0n, extra: 0n });

    const stopped = await admin.stopShadow({ namespace: ns });
    expect(stopped.namespace?.shadow).toBeUndefined();
    await rpcFailure(admin.getShadowStatus({ namespace: ns }), status.FAILED_PRECONDITION);
  }, 120_000);

  it("never leaves a backfilled old value over a newer write that raced it", async () => {
    const name = "shadow-kv-race";
    await apply(`name: ${name}\npattern: keyvalue\nbackend: local`);
    // Zero-padded: the scan's id order is the numeric order.
    const ids = Array.from({ length: 400 }, (_, i) => `r-${String(i).padStart(3, "0")}`);
    await Promise.all(ids.map((id) => kv.put({ namespace: name, id, items: flat("seed") })));
    await admin.startShadow({ namespace: name, shadow: { backend: "pg" } });
    const { job } = await admin.startBackfill({ namespace: name, maxRecordsPerSecond: 100 });
    let round = 0;
    for (;;) {
      const now = (await admin.getBackfill({ id: job!.id })).job!;
      if (now.state !== BackfillState.RUNNING) break;
      // Rewrite (or delete) only the records just past the backfill's checkpoint: the page it is
      // copying now (read, not all written yet) and the next. Nothing writes them again once the
      // checkpoint passed them, so a stale copy would stay.
      const at = now.phase === "copying" && now.cursor ? Number(/r-(\d+)/.exec(now.cursor)?.[1] ?? 0) : 0;
      round++;
      const window = ids.slice(at + 1, at + 40);
      await Promise.all(
        window.map((id, i) =>
          (i + round) % 9 === 0
            ? kv.delete({ namespace: name, id })
            : kv.put({ namespace: name, id, items: flat(`round ${round}`) }),
        ),
      );
    }
    expect(round).toBeGreaterThan(3);
    expect((await admin.getBackfill({ id: job!.id })).job!.state).toBe(BackfillState.SUCCEEDED);
    await sleep(300);
    expect((await verify(name)).at(-1)).toMatchObject({ missing: 0n, differing: 0n, extra: 0n });
  }, 60_000);

  it("answers the shadow from the shadow in read-shadow mode, counting each read it served", async () => {
    const name = "shadow-kv-reads";
    await apply(
      `name: ${name}\npattern: keyvalue\nbackend: mem\nshadow: { backend: local, mode: read-shadow, sample_rate: 1 }`,
    );
    await kv.put({ namespace: name, id: "a", items: flat("one") });
    await sleep(200);
    expect(await readValue(name, "a")).toBe("one");
    const answer = await statusWhen(name, (st) => st.totals!.readsServedByShadow >= 1n);
    expect(answer.totals).toMatchObject({ readsServedByShadow: 1n, readsFellBack: 0n });
  });

  it("cancels a throttled backfill, keeping what it copied, and refuses a second one while one runs", async () => {
    const name = "shadow-kv-cancel";
    await apply(`name: ${name}\npattern: keyvalue\nbackend: mem`);
    for (let i = 0; i < 200; i++) await kv.put({ namespace: name, id: `r-${i}`, items: flat(`v${i}`) });
    await admin.startShadow({ namespace: name, shadow: { backend: "local" } });
    const { job } = await admin.startBackfill({ namespace: name, maxRecordsPerSecond: 20 });
    const again = await rpcFailure(admin.startBackfill({ namespace: name }), status.FAILED_PRECONDITION);
    expect(again.details.reason).toBe("BACKFILL_RUNNING");
    await sleep(1500);
    const cancelled = (await admin.cancelBackfill({ id: job!.id })).job!;
    expect(cancelled.state).toBe(BackfillState.CANCELLED);
    await sleep(500);
    const final = (await admin.getBackfill({ id: job!.id })).job!;
    expect(final.state).toBe(BackfillState.CANCELLED);
    expect(final.recordsCopied).toBeLessThan(200n);
    expect(final.recordsTotal).toBe(200n);
    const missing = await rpcFailure(admin.getBackfill({ id: "nope" }), status.NOT_FOUND);
    expect(missing.details.reason).toBe("BACKFILL_NOT_FOUND");

    // The next backfill continues from the cancelled one's checkpoint: its counts carry on, and
    // at most the page in flight when it was cancelled is copied twice (20/s reads pages of 4).
    const resumed = await backfill(name);
    expect(resumed).toMatchObject({ state: BackfillState.SUCCEEDED, resumedFrom: job!.id });
    expect(resumed.startTime).toEqual(final.startTime);
    expect(resumed.recordsCopied).toBeGreaterThanOrEqual(200n);
    expect(resumed.recordsCopied).toBeLessThanOrEqual(204n);
    expect((await verify(name)).at(-1)).toMatchObject({ done: true, missing: 0n, differing: 0n });
    // --from-scratch copies everything again, and a succeeded job is never resumed.
    const scratch = await backfill(name, 20_000, true);
    expect(scratch).toMatchObject({ state: BackfillState.SUCCEEDED, resumedFrom: "", recordsCopied: 200n });
    expect(scratch.startTime).not.toEqual(final.startTime);
  });
});

describe("TimeSeries shadow: memory → postgres", () => {
  const ns = "shadow-ts";
  const base = Date.now() - 600_000;
  const event = (i: number) => ({
    eventTime: timestampFromMs(base + i * 10),
    eventId: `e${i}`,
    payload: b(`payload ${i}`),
    tags: { parity: i % 2 ? "odd" : "even" },
  });

  it("backfills every series, mirrors new events, and reads the same after a promotion", async () => {
    await apply(`name: ${ns}\npattern: timeseries\nbackend: mem`);
    for (const series of ["cpu", "mem", "disk"]) {
      await ts.write({
        namespace: ns,
        seriesId: series,
        events: Array.from({ length: 100 }, (_, i) => event(i)),
      });
    }
    await admin.startShadow({ namespace: ns, shadow: { backend: "pg" } });
    await ts.write({ namespace: ns, seriesId: "cpu", events: [event(100), event(101)] });
    const job = await backfill(ns);
    expect(job).toMatchObject({ state: BackfillState.SUCCEEDED, recordsTotal: 302n, recordsSkipped: 0n });
    expect((await verify(ns)).at(-1)).toMatchObject({
      examined: 302n,
      missing: 0n,
      differing: 0n,
      extra: 0n,
    });

    await admin.promoteShadow({ namespace: ns });
    const read = await ts.read({ namespace: ns, seriesId: "cpu", start: timestampFromMs(base - 1) });
    expect(read.events.map((e) => e.eventId)).toEqual(Array.from({ length: 102 }, (_, i) => `e${i}`));
    expect(read.events[7]?.tags).toEqual({ parity: "odd" });
  }, 60_000);
});

describe("Graph shadow: sqlite → memory", () => {
  const ns = "shadow-graph";
  const str = (value: string): Value => ({
    $typeName: "prism.graph.v1.Value",
    kind: { case: "stringValue", value },
  });

  it("backfills nodes then edges, mirrors an edge to a node the backfill has not copied, and verifies clean", async () => {
    await apply(`name: ${ns}\npattern: graph\nbackend: local`);
    const nodes = Array.from({ length: 60 }, (_, i) => ({
      id: `n${i}`,
      label: "person",
      properties: { name: str(`p${i}`) },
    }));
    await graph.upsertNodes({ namespace: ns, nodes });
    const edges = Array.from({ length: 59 }, (_, i) => ({
      fromId: `n${i}`,
      toId: `n${i + 1}`,
      label: "knows",
      properties: {},
    }));
    await graph.upsertEdges({ namespace: ns, edges });
    await admin.startShadow({ namespace: ns, shadow: { backend: "mem" } });
    // Both ends exist only in the primary yet: the mirrored edge brings them over.
    await graph.upsertEdges({
      namespace: ns,
      edges: [{ fromId: "n0", toId: "n59", label: "likes", properties: {} }],
    });
    await statusWhen(ns, (st) => st.totals!.writesOk >= 1n);
    const early = (await verify(ns)).at(-1)!;
    expect(early.missing).toBe(58n + 59n);

    const job = await backfill(ns);
    expect(job).toMatchObject({ state: BackfillState.SUCCEEDED, recordsTotal: 120n });
    expect((await verify(ns)).at(-1)).toMatchObject({
      examined: 120n,
      missing: 0n,
      differing: 0n,
      extra: 0n,
    });
    const status_ = await statusWhen(ns, () => true);
    expect(status_.totals).toMatchObject({ writesFailed: 0n, writesDropped: 0n });
    await admin.promoteShadow({ namespace: ns });
    const { neighbors } = await graph.neighbors({ namespace: ns, nodeId: "n0" });
    expect(neighbors.map((n) => n.node?.id).sort()).toEqual(["n1", "n59"]);
  }, 60_000);
});
