import { isPrismError, type TimeSeriesBackend, type TsEvent } from "@prism/core";
import { b, freshNamespace, timeSeriesConformance } from "@prism/core/conformance";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "./schema.js";
import { adminClient, freshSchema, openTestBackend, rejection } from "./test-support.js";
import { dayOf } from "./ts-partitions.js";

timeSeriesConformance({ name: "postgres", open: () => openTestBackend() });

const YEAR_MS = 365 * 24 * 3_600_000;
const settings = { retentionMs: 10 * YEAR_MS, acceptPastMs: 10 * YEAR_MS, acceptFutureMs: 3_600_000 };
const HOUR_US = 3_600_000_000n;
const DAY_US = 24n * HOUR_US;
const nowUs = () => BigInt(Date.now()) * 1000n;
const event = (eventTimeUs: bigint, eventId: string): TsEvent => ({
  eventTimeUs,
  eventId,
  payload: b(eventId),
  tags: {},
});
const readAll = (ts: TimeSeriesBackend, ns: string, series: string) =>
  ts.read(ns, series, {
    settings,
    startUs: -(1n << 62n),
    endUs: 1n << 62n,
    descending: false,
    tagFilter: {},
    limitEvents: 100_000,
    limitBytes: 1 << 30,
  });

/** Pulls from a tail until `count` events arrived. */
async function take(tail: AsyncIterator<TsEvent[]>, count: number): Promise<TsEvent[]> {
  const events: TsEvent[] = [];
  while (events.length < count) {
    const next = await tail.next();
    if (next.done) throw new Error(`tail ended after ${events.length} events`);
    events.push(...next.value);
  }
  return events;
}

describe("postgres timeseries", () => {
  let admin: Client;
  const schemas: string[] = [];
  const open = async (name = "pg-ts") => {
    const schema = freshSchema();
    schemas.push(schema);
    return { schema, backend: await openTestBackend({ schema }, name) };
  };
  const partitionsOf = async (schema: string) =>
    (
      await admin.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = $1::regclass ORDER BY 1`,
        [`"${schema}".ts_events`],
      )
    ).rows.map((row) => row.name);

  beforeAll(async () => {
    admin = await adminClient();
  });
  afterAll(async () => {
    for (const name of schemas) await admin?.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    await admin?.end();
  });

  it("stores a batch in partitions per namespace and UTC day, created on demand", async () => {
    const { schema, backend } = await open();
    const ts = backend.timeseries!;
    const now = nowUs();
    const days = [now - 2n * DAY_US, now - DAY_US, now];
    const events = days.flatMap((t, i) => [event(t, `a${i}`), event(t + 1n, `b${i}`)]);
    expect(await ts.write("ns-1", "s", events, { settings })).toEqual({ written: 6, duplicates: 0 });
    await ts.write("ns-2", "s", [event(now, "x")], { settings });
    const { rows } = await admin.query(`SELECT namespace, id FROM "${schema}".ts_namespaces ORDER BY id`);
    expect(rows).toEqual([
      { namespace: "ns-1", id: 1 },
      { namespace: "ns-2", id: 2 },
    ]);
    expect(await partitionsOf(schema)).toEqual(
      [...days.map((t) => `ts_events_1_${dayOf(t)}`), `ts_events_2_${dayOf(now)}`].sort(),
    );
    expect((await readAll(ts, "ns-1", "s")).events).toHaveLength(6);
    await backend.close();
  });

  it("retains by dropping expired partitions whole and deleting in the partition at the cut-off", async () => {
    const { schema, backend } = await open();
    const ts = backend.timeseries!;
    // Noon of today (UTC), so that "6 hours ago" and "now" share the partition the cut-off falls in.
    const noon = dayOf(nowUs()) * DAY_US + 12n * HOUR_US;
    const retention = { ...settings, retentionMs: Number((nowUs() - noon + 3n * HOUR_US) / 1000n) };
    await ts.write("ns", "s", [event(noon - 3n * DAY_US, "old-1"), event(noon - DAY_US, "old-2")], {
      settings,
    });
    await ts.write("ns", "s", [event(noon - 6n * HOUR_US, "old-3"), event(noon, "kept")], { settings });
    await ts.write("other", "s", [event(noon - 3n * DAY_US, "elsewhere")], { settings });
    expect(await partitionsOf(schema)).toHaveLength(4);

    // Whole partitions were dropped, so the count is unknown.
    expect(await ts.retain("ns", { settings: retention })).toEqual({});
    expect(await partitionsOf(schema)).toEqual(
      [`ts_events_1_${dayOf(noon)}`, `ts_events_2_${dayOf(noon - 3n * DAY_US)}`].sort(),
    );
    expect((await readAll(ts, "ns", "s")).events.map((e) => e.eventId)).toEqual(["kept"]);
    expect((await readAll(ts, "other", "s")).events).toHaveLength(1);
    expect(await ts.retain("ns", { settings: retention })).toEqual({ removed: 0 });

    // A write into a day another instance's retention dropped recreates the partition.
    expect(await ts.write("ns", "s", [event(noon - DAY_US, "late")], { settings })).toEqual({
      written: 1,
      duplicates: 0,
    });
    await backend.close();
  });

  it("counts removed events exactly when retention only deletes", async () => {
    const { backend } = await open();
    const ts = backend.timeseries!;
    const now = nowUs();
    const start = dayOf(now) * DAY_US;
    // Events since midnight, half of them past a cut-off in between: all in today's partition.
    const events = Array.from({ length: 12_000 }, (_, i) =>
      event(start + ((now - start) * BigInt(i)) / 12_000n, `e${i}`),
    );
    await ts.write("ns", "s", events, { settings });
    const cutoffUs = events[6000]!.eventTimeUs;
    const retentionMs = Number((now - cutoffUs) / 1000n);
    const { removed } = await ts.retain("ns", { settings: { ...settings, retentionMs } });
    const left = (await readAll(ts, "ns", "s")).events;
    expect(removed! + left.length).toBe(12_000);
    expect(left.every((e) => e.eventTimeUs >= cutoffUs - 1000n)).toBe(true);
    await backend.close();
  });

  it("a tail is woken across gateways and survives losing its listening connection", async () => {
    const first = await open("pg-ts-a");
    const second = await openTestBackend({ schema: first.schema }, "pg-ts-b");
    const controller = new AbortController();
    const tail = second
      .timeseries!.tail("ns", "s", { settings, tagFilter: {}, signal: controller.signal })
      [Symbol.asyncIterator]();
    const pending = take(tail, 1);
    // Until the tail ran its snapshot, a write may fall before it: keep writing until one arrives.
    let n = 0;
    let received: TsEvent[] | undefined;
    const started = pending.then((events) => {
      received = events;
    });
    while (received === undefined) {
      await first.backend.timeseries!.write("ns", "s", [event(nowUs(), `w${n++}`)], { settings });
      await Promise.race([started, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
    // The listening connection is opened in the background: the first event may come from the
    // tail's catch-up read before it exists. Kill it once it is there.
    const listening = "application_name = 'prism:pg-ts-b:listen'";
    for (let waited = 0; waited < 10_000; waited += 50) {
      const { rowCount } = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE ${listening}`);
      if (rowCount === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${listening}`,
    );
    expect(killed.rowCount).toBe(1);
    const later = take(tail, 1);
    await first.backend.timeseries!.write("ns", "s", [event(nowUs(), "after-kill")], { settings });
    const events = await later;
    expect(events.map((e) => e.eventId)).toContain("after-kill");
    controller.abort();
    expect((await tail.next()).done).toBe(true);
    await Promise.all([first.backend.close(), second.close()]);
  });

  it("a write waiting for its series lock is cancelled on the server when its deadline passes", async () => {
    const { schema, backend } = await open("pg-ts-lock");
    const ts = backend.timeseries!;
    await ts.write("ns", "s", [event(nowUs(), "first")], { settings });
    const blocker = await adminClient();
    try {
      await blocker.query("BEGIN");
      await blocker.query(
        `SELECT pg_advisory_xact_lock((id::bigint << 32) | (hashtext('s')::bigint & 4294967295))
         FROM "${schema}".ts_namespaces WHERE namespace = 'ns'`,
      );
      const error = await rejection(
        ts.write("ns", "s", [event(nowUs(), "blocked")], { settings, signal: AbortSignal.timeout(300) }),
      );
      expect(isPrismError(error, "DeadlineExceeded"), String(error)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await blocker.query("ROLLBACK");
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await readAll(ts, "ns", "s")).events.map((e) => e.eventId)).toEqual(["first"]);
    } finally {
      await blocker.end();
      await backend.close();
    }
  });

  it("migrates an existing KeyValue schema (version 1) to the current version", async () => {
    const { schema, backend } = await open();
    await backend.close();
    // Back to version 1: every later migration's objects and rows gone.
    await admin.query(`DROP TABLE "${schema}".graph_edges, "${schema}".graph_nodes`);
    await admin.query(`DROP TABLE "${schema}".ts_events, "${schema}".ts_namespaces`);
    await admin.query(`DROP SEQUENCE "${schema}".ts_arrival`);
    await admin.query(`DELETE FROM "${schema}".schema_version WHERE version >= 2`);
    const reopened = await openTestBackend({ schema });
    const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_version ORDER BY version`);
    expect(rows).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
    expect(
      await reopened.timeseries!.write(freshNamespace(), "s", [event(nowUs(), "e")], { settings }),
    ).toEqual({
      written: 1,
      duplicates: 0,
    });
    await reopened.close();
  });
});
