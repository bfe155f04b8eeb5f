import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import {
  type Backend,
  compareEvents,
  isPrismError,
  type TimeSeriesBackend,
  type TsEvent,
  type TsNamespaceSettings,
} from "@prism/core";
import { freshNamespace, timeSeriesConformance } from "@prism/core/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsDriver } from "./index.js";
import type { NatsTimeSeries } from "./nats-timeseries.js";

const url = process.env.PRISM_TEST_NATS_URL ?? "nats://127.0.0.1:14222";
const shownUrl = url.replace(/\/\/[^@/]*@/, "//***@");
// A prefix of this run's own, so the streams it creates can be removed afterwards.
const bucketPrefix = `prismts-${randomBytes(4).toString("hex")}`;

const HOUR = 3600_000;
const settings: TsNamespaceSettings = {
  retentionMs: 7 * 24 * HOUR,
  acceptPastMs: 24 * HOUR,
  acceptFutureMs: HOUR,
};
const nowUs = () => BigInt(Date.now()) * 1000n;
const utf8 = new TextEncoder();

/** Opens the backend on the test server, failing (never skipping) with a hint when it is down. */
async function openNats(): Promise<Backend> {
  const backend = await natsDriver.open({
    name: "nats-ts-test",
    options: { url, bucketPrefix },
    dataDir: tmpdir(),
  });
  const report = await backend.health(AbortSignal.timeout(5000));
  if (!report.ok) {
    await backend.close();
    throw new Error(
      `NATS with JetStream is not reachable at ${shownUrl} (${report.message}). Run \`pnpm stack up\`, ` +
        "or point PRISM_TEST_NATS_URL at a server started with `nats-server -js`.",
    );
  }
  return backend;
}

afterAll(async () => {
  const nc = await connect({ servers: url, timeout: 2000 }).catch(() => undefined);
  if (!nc) return;
  const jsm = await jetstreamManager(nc);
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`TS_${bucketPrefix}_`)) await jsm.streams.delete(name);
  }
  await nc.close();
});

function event(eventTimeUs: bigint, eventId: string, tags: Record<string, string> = {}): TsEvent {
  return { eventTimeUs, eventId, payload: utf8.encode(`p-${eventId}`), tags };
}

const readAll = (ts: TimeSeriesBackend, ns: string, series: string, startUs: bigint, endUs: bigint) =>
  ts.read(ns, series, {
    settings,
    startUs,
    endUs,
    descending: false,
    tagFilter: {},
    limitEvents: 10_000,
    limitBytes: 64 << 20,
  });

const ids = (events: TsEvent[]) => events.map((e) => e.eventId);

timeSeriesConformance({ name: "nats", open: openNats });

describe("nats timeseries", () => {
  let backend: Backend;
  let ts: NatsTimeSeries;
  beforeAll(async () => {
    backend = await openNats();
    ts = backend.timeseries as NatsTimeSeries;
  });
  afterAll(() => backend?.close());

  it("declares a live tail and native retention, and serves the timeseries pattern", () => {
    expect(natsDriver.patterns).toContain("timeseries");
    expect(ts.capabilities).toEqual({ liveTail: true, nativeRetention: true, arrivalIndexed: true });
  });

  it("round-trips events in read order, with any non-control characters in series and event ids", async () => {
    const ns = freshNamespace();
    const series = "séries.*>/\u{1F600} x";
    const t = nowUs();
    const events = [
      event(t, "b.>*", { k: "v" }),
      event(t, "a"),
      event(t, "\u{1F600}"),
      event(t, "é"),
      event(t - 5n, "z", { "k.x": "ü" }),
    ];
    expect(await ts.write(ns, series, events, { settings })).toEqual({ written: 5, duplicates: 0 });
    const { events: read, more } = await readAll(ts, ns, series, t - 10n, t + 1n);
    expect(more).toBe(false);
    expect(read).toEqual([...events].sort(compareEvents));
  });

  it("finds events written far behind or ahead of their time (the accept window), and pages both ways", async () => {
    const ns = freshNamespace();
    const t = nowUs();
    const late = event(t - 20n * BigInt(HOUR) * 1000n, "late");
    const early = event(t + 30n * 60_000_000n, "early");
    const current = Array.from({ length: 30 }, (_, i) =>
      event(t + BigInt(i), `e${String(i).padStart(2, "0")}`),
    );
    await ts.write(ns, "s", [...current, early], { settings });
    await ts.write(ns, "s", [late], { settings });
    const all = [late, ...current, early];
    const range = { startUs: late.eventTimeUs, endUs: early.eventTimeUs + 1n };
    for (const descending of [false, true]) {
      const seen: TsEvent[] = [];
      let after: TsEvent | undefined;
      for (let page = 0; page < 20; page++) {
        const { events, more } = await ts.read(ns, "s", {
          settings,
          ...range,
          descending,
          tagFilter: {},
          limitEvents: 7,
          limitBytes: 1 << 20,
          ...(after && { after }),
        });
        seen.push(...events);
        after = events.at(-1);
        if (!more) break;
      }
      expect(ids(seen)).toEqual(ids(descending ? [...all].reverse() : all));
    }
    const only = await readAll(ts, ns, "s", late.eventTimeUs, late.eventTimeUs + 1n);
    expect(ids(only.events)).toEqual(["late"]);
  });

  it("cuts a page by bytes, always returning at least one event", async () => {
    const ns = freshNamespace();
    const t = nowUs();
    const big = (i: number): TsEvent => ({ ...event(t + BigInt(i), `b${i}`), payload: new Uint8Array(1000) });
    await ts.write(ns, "s", [big(0), big(1), big(2)], { settings });
    const options = {
      settings,
      startUs: t,
      endUs: t + 10n,
      descending: false,
      tagFilter: {},
      limitEvents: 10,
    };
    const one = await ts.read(ns, "s", { ...options, limitBytes: 10 });
    expect({ ids: ids(one.events), more: one.more }).toEqual({ ids: ["b0"], more: true });
    const two = await ts.read(ns, "s", { ...options, limitBytes: 2010 });
    expect({ ids: ids(two.events), more: two.more }).toEqual({ ids: ["b0", "b1"], more: true });
  });

  it("filters by tags", async () => {
    const ns = freshNamespace();
    const t = nowUs();
    await ts.write(
      ns,
      "s",
      [
        event(t, "a", { host: "h1", dc: "x" }),
        event(t + 1n, "b", { host: "h2" }),
        event(t + 2n, "c", { host: "h1" }),
      ],
      { settings },
    );
    const { events } = await ts.read(ns, "s", {
      settings,
      startUs: t,
      endUs: t + 3n,
      descending: false,
      tagFilter: { host: "h1" },
      limitEvents: 10,
      limitBytes: 1 << 20,
    });
    expect(ids(events)).toEqual(["a", "c"]);
  });

  it("counts repeats within a batch and replays as duplicates", async () => {
    const ns = freshNamespace();
    const t = nowUs();
    const a = event(t, "a");
    expect(await ts.write(ns, "s", [a, a, event(t, "b")], { settings })).toEqual({
      written: 2,
      duplicates: 1,
    });
    const changed = { ...a, payload: utf8.encode("other") };
    expect(await ts.write(ns, "s", [changed, event(t, "c")], { settings })).toEqual({
      written: 1,
      duplicates: 1,
    });
    const { events } = await readAll(ts, ns, "s", t, t + 1n);
    expect(events.map((e) => Buffer.from(e.payload).toString())).toEqual(["p-a", "p-b", "p-c"]);
  });

  it("keeps a replay a duplicate beyond the duplicate window, from a fresh backend instance", async () => {
    const ns = freshNamespace();
    const t = nowUs();
    const batch = Array.from({ length: 20 }, (_, i) => event(t + BigInt(i), `r${i}`));
    expect(await ts.write(ns, "s", batch, { settings })).toEqual({ written: 20, duplicates: 0 });
    // Shrink the stream's duplicate window to 100 ms and let it pass: JetStream's own message-id
    // dedupe has then forgotten everything; the per-subject limit has not.
    const nc = await connect({ servers: url, timeout: 2000 });
    const jsm = await jetstreamManager(nc);
    const name = `TS_${bucketPrefix}_${ns}`;
    const { config } = await jsm.streams.info(name);
    await jsm.streams.update(name, { ...config, duplicate_window: 100_000_000 });
    await nc.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const other = await openNats();
    try {
      const replay = await other.timeseries!.write(ns, "s", [...batch, event(t, "new")], { settings });
      expect(replay).toEqual({ written: 1, duplicates: 20 });
    } finally {
      await other.close();
    }
    expect((await readAll(ts, ns, "s", t, t + 100n)).events).toHaveLength(21);
  });

  it("keeps series apart, also series whose ids are prefixes of each other or contain dots", async () => {
    const ns = freshNamespace();
    const t = nowUs();
    const names = ["a", "ab", "a.b", "a.>", "*"];
    for (const [i, series] of names.entries()) {
      await ts.write(ns, series, [event(t, `only-${i}`), event(t + 1n, "shared")], { settings });
    }
    for (const [i, series] of names.entries()) {
      expect(ids((await readAll(ts, ns, series, t, t + 2n)).events)).toEqual([`only-${i}`, "shared"]);
    }
    expect((await readAll(ts, ns, "never-written", t, t + 2n)).events).toEqual([]);
    expect((await readAll(ts, freshNamespace(), "a", t, t + 2n)).events).toEqual([]);
  });

  it("retain sets the stream's max age to retention plus the future accept window, idempotently", async () => {
    const ns = freshNamespace();
    await ts.retain(ns, { settings });
    const first = await ts.streamInfo(ns);
    expect(first.config.max_age).toBe((settings.retentionMs + settings.acceptFutureMs) * 1e6);
    expect(first.config.max_msgs_per_subject).toBe(1);
    expect(first.config.discard_new_per_subject).toBe(true);
    await ts.retain(ns, { settings });
    expect((await ts.streamInfo(ns)).config).toEqual(first.config);
    const shorter = { ...settings, retentionMs: 60_000, acceptFutureMs: 1000 };
    await ts.retain(ns, { settings: shorter });
    const updated = await ts.streamInfo(ns);
    expect(updated.config.max_age).toBe(61_000 * 1e6);
    expect(updated.config.duplicate_window).toBeLessThanOrEqual(updated.config.max_age);
    // A write with the namespace's settings keeps the max age the settings ask for.
    await ts.write(ns, "s", [event(nowUs(), "x")], { settings: shorter });
    expect((await ts.streamInfo(ns)).config.max_age).toBe(61_000 * 1e6);
  });

  it("tails: stored events from the start time in read order, then live events, each once, while writes race", async () => {
    const ns = freshNamespace();
    const t = nowUs();
    const stored = Array.from({ length: 600 }, (_, i) => event(t + BigInt(599 - i), `s${599 - i}`));
    await ts.write(ns, "s", stored, { settings });
    await ts.write(ns, "other", [event(t, "not-mine")], { settings });
    const controller = new AbortController();
    const tail = ts.tail(ns, "s", { settings, startUs: t, tagFilter: {}, signal: controller.signal });
    const seen: TsEvent[] = [];
    let writes: Promise<unknown> | undefined;
    for await (const batch of tail) {
      seen.push(...batch);
      // Racing writes start once the tail has begun its catch-up.
      writes ??= (async () => {
        for (let i = 0; i < 10; i++) {
          await ts.write(ns, "s", [event(t + 1000n + BigInt(i), `live${i}`)], { settings });
        }
      })();
      if (seen.length >= 610) controller.abort();
    }
    await writes;
    expect(seen).toHaveLength(610);
    expect(ids(seen.slice(0, 600))).toEqual(ids([...stored].sort(compareEvents)));
    expect(new Set(ids(seen)).size).toBe(610);
    expect(ids(seen.slice(600))).toEqual(Array.from({ length: 10 }, (_, i) => `live${i}`));
  });

  it("tails only new events without a start time, filters by tags, and ends on return()", async () => {
    const ns = freshNamespace();
    const t = nowUs();
    await ts.write(ns, "s", [event(t, "old", { k: "1" })], { settings });
    const tail = ts.tail(ns, "s", { settings, tagFilter: { k: "1" } })[Symbol.asyncIterator]();
    let arrived = false;
    const next = tail.next().finally(() => {
      arrived = true;
    });
    // The tail starts at some point after next(): write until it delivers.
    for (let i = 0; !arrived && i < 200; i++) {
      await ts.write(
        ns,
        "s",
        [event(t - 1n, `skipped${i}`, { k: "2" }), event(t - 2n, `new${i}`, { k: "1" })],
        {
          settings,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const first = (await next).value as TsEvent[];
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((e) => e.eventId.startsWith("new"))).toBe(true);
    expect(await tail.return?.()).toEqual({ done: true, value: undefined });
  });

  it("ends a waiting tail when its signal fires, and rejects calls whose signal fired", async () => {
    const ns = freshNamespace();
    const controller = new AbortController();
    const tail = ts
      .tail(ns, "s", { settings, tagFilter: {}, signal: controller.signal })
      [Symbol.asyncIterator]();
    const next = tail.next();
    setTimeout(() => controller.abort(), 100);
    expect(await next).toEqual({ done: true, value: undefined });
    const aborted = AbortSignal.abort();
    const read = ts.read(ns, "s", {
      settings,
      startUs: 0n,
      endUs: 1n,
      descending: false,
      tagFilter: {},
      limitEvents: 1,
      limitBytes: 1,
      signal: aborted,
    });
    await expect(read).rejects.toSatisfy((e) => isPrismError(e, "Cancelled"));
    const write = ts.write(ns, "s", [event(nowUs(), "x")], { settings, signal: aborted });
    await expect(write).rejects.toSatisfy((e) => isPrismError(e, "Cancelled"));
  });

  it("refuses an event larger than the server's message size before writing any of the batch", async () => {
    const ns = freshNamespace();
    const t = nowUs();
    const huge = { ...event(t, "huge"), payload: new Uint8Array(2 << 20) };
    await expect(ts.write(ns, "s", [event(t, "ok"), huge], { settings })).rejects.toSatisfy((e) =>
      isPrismError(e, "InvalidArgument"),
    );
    expect((await readAll(ts, ns, "s", t, t + 1n)).events).toEqual([]);
  });
});
