import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { type Event, Order, TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GatewayProcess,
  removeDataDir,
  startBackendMatrix,
  startGatewayProcess,
} from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";

/**
 * TimeSeries end to end on every backend: the gateway as a process, driven over gRPC. Write (and
 * a replayed batch), Read (ranges, order, tags, pages), and a Tail that starts before a batch of
 * writes and continues across it.
 */
const BACKENDS = ["mem", "local", "pg", "nats", "kafka"] as const;

let gateway: GatewayProcess;
let ts: PromiseClient<typeof TimeSeriesService.method> & { close(): void };

beforeAll(async () => {
  gateway = await startBackendMatrix("tse2e", {
    namespaces: BACKENDS.map((backend) => ({
      name: `ts-${backend}`,
      pattern: "timeseries",
      backend,
      retention: "30d",
      accept_window: { past: "2d", future: "1h" },
    })),
  });
  ts = createPromiseClient(TimeSeriesService, { address: gateway.address });
}, 90_000);

afterAll(async () => {
  ts?.close();
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

const base = Date.now() - 3_600_000;
const payload = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const event = (offsetMs: number, id: string, tags: Record<string, string> = {}) => ({
  eventTime: timestampFromMs(base + offsetMs),
  eventId: id,
  payload: payload(`payload ${id}`),
  tags,
});
const ids = (events: Event[]) => events.map((e) => e.eventId);

describe.each(BACKENDS)("timeseries on %s", (backend) => {
  const namespace = `ts-${backend}`;

  it("writes a batch, and a replayed batch adds nothing and says so", async () => {
    const batch = [event(0, "a", { kind: "x" }), event(1000, "b", { kind: "y" }), event(1000, "c")];
    const first = await ts.write({ namespace, seriesId: "writes", events: batch });
    expect([first.written, first.duplicates]).toEqual([3, 0]);
    const replay = await ts.write({ namespace, seriesId: "writes", events: batch });
    expect([replay.written, replay.duplicates]).toEqual([0, 3]);
    const mixed = await ts.write({ namespace, seriesId: "writes", events: [batch[0]!, event(2000, "d")] });
    expect([mixed.written, mixed.duplicates]).toEqual([1, 1]);
    const read = await ts.read({ namespace, seriesId: "writes", start: timestampFromMs(base - 1) });
    expect(ids(read.events)).toEqual(["a", "b", "c", "d"]);
    expect(text(read.events[1]!.payload)).toBe("payload b");
    expect(read.events[0]!.tags).toEqual({ kind: "x" });
    expect(Number(read.events[1]!.eventTime!.seconds) * 1000 + read.events[1]!.eventTime!.nanos / 1e6).toBe(
      base + 1000,
    );
  });

  it("reads a range in either order, filtered by tags, page by page", async () => {
    const series = "reads";
    const events = Array.from({ length: 25 }, (_, i) =>
      event(i * 10, `e${String(i).padStart(2, "0")}`, { odd: String(i % 2) }),
    );
    await ts.write({ namespace, seriesId: series, events });
    const range = { start: timestampFromMs(base + 50), end: timestampFromMs(base + 200) };
    const ascending = await ts.read({ namespace, seriesId: series, ...range });
    expect(ids(ascending.events)).toEqual(events.slice(5, 20).map((e) => e.eventId));
    const descending = await ts.read({ namespace, seriesId: series, ...range, order: Order.DESCENDING });
    expect(ids(descending.events)).toEqual(ids(ascending.events).reverse());
    const odd = await ts.read({ namespace, seriesId: series, ...range, tagFilter: { odd: "1" } });
    expect(ids(odd.events)).toEqual(["e05", "e07", "e09", "e11", "e13", "e15", "e17", "e19"]);

    const paged: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await ts.read({ namespace, seriesId: series, ...range, pageSizeEvents: 4, pageToken });
      expect(page.events.length).toBeLessThanOrEqual(4);
      paged.push(...ids(page.events));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken && pages < 20);
    expect(paged).toEqual(ids(ascending.events));
    expect(pages).toBeGreaterThanOrEqual(4);
  });

  it("tails from a start time across a batch written after it started, then ends on cancel", async () => {
    const series = "tail";
    await ts.write({ namespace, seriesId: series, events: [event(0, "stored-1"), event(10, "stored-2")] });
    const cancel = new AbortController();
    const stream = ts.tail(
      { namespace, seriesId: series, start: timestampFromMs(base) },
      { signal: cancel.signal },
    );
    const seen: string[] = [];
    const collected = (async () => {
      try {
        for await (const message of stream) {
          seen.push(...ids(message.events));
          if (seen.length >= 12) cancel.abort();
        }
      } catch (error) {
        if (!cancel.signal.aborted) throw error;
      }
    })();
    await waitFor(() => seen.length >= 2, "the stored events");
    const live = Array.from({ length: 10 }, (_, i) => event(100 + i, `live-${i}`));
    await ts.write({ namespace, seriesId: series, events: live.slice(0, 5) });
    await ts.write({ namespace, seriesId: series, events: live.slice(0, 5) }); // a replay: nothing new
    await ts.write({ namespace, seriesId: series, events: live.slice(5) });
    await collected;
    expect(seen.slice(0, 2)).toEqual(["stored-1", "stored-2"]);
    expect(seen.slice(2).sort()).toEqual(live.map((e) => e.eventId).sort());
  });

  it("rejects an event outside the accept window by name, and writes nothing of its batch", async () => {
    const series = "window";
    const failure = await rpcFailure(
      ts.write({
        namespace,
        seriesId: series,
        events: [
          event(0, "fine"),
          { ...event(0, "too-old"), eventTime: timestampFromMs(Date.now() - 3 * 86_400_000) },
        ],
      }),
      status.INVALID_ARGUMENT,
    );
    expect(failure.details.reason).toBe("EVENT_OUTSIDE_WINDOW");
    expect(failure.message).toContain("events[1].event_time");
    const read = await ts.read({ namespace, seriesId: series, start: timestampFromMs(base - 1) });
    expect(read.events).toEqual([]);
  });
});

describe("timeseries requests", () => {
  it("a page token replayed against another series is refused", async () => {
    const namespace = "ts-mem";
    await ts.write({ namespace, seriesId: "tok", events: [event(0, "a"), event(1, "b"), event(2, "c")] });
    const page = await ts.read({
      namespace,
      seriesId: "tok",
      start: timestampFromMs(base - 1),
      pageSizeEvents: 1,
    });
    expect(page.nextPageToken).not.toBe("");
    const failure = await rpcFailure(
      ts.read({
        namespace,
        seriesId: "other",
        start: timestampFromMs(base - 1),
        pageToken: page.nextPageToken,
      }),
      status.INVALID_ARGUMENT,
    );
    expect(failure.details.reason).toBe("INVALID_PAGE_TOKEN");
  });
});

describe("a tail's lifetime", () => {
  let own: GatewayProcess | undefined;
  afterAll(async () => {
    await own?.stop();
    if (own) removeDataDir(own.dataDir);
  });

  it("outlives the default deadline, and ends with OK when the gateway shuts down", async () => {
    own = await startGatewayProcess({
      backends: { mem: { type: "memory" } },
      namespaces: [{ name: "ts-life", pattern: "timeseries", backend: "mem" }],
      defaultDeadlineMs: 1000,
    });
    const client = createPromiseClient(TimeSeriesService, { address: own.address });
    try {
      // From a start time, so the event arrives whether the tail is set up before or after the write.
      const tail = client.tail({ namespace: "ts-life", seriesId: "s", start: timestampFromMs(base - 1) });
      const iterator = tail[Symbol.asyncIterator]();
      const first = iterator.next();
      await new Promise((resolve) => setTimeout(resolve, 2000)); // twice the default deadline
      await client.write({ namespace: "ts-life", seriesId: "s", events: [event(0, "late")] });
      expect(ids((await first).value.events)).toEqual(["late"]);
      const end = iterator.next();
      expect(await own.stop()).toBe(0);
      expect(await end).toMatchObject({ done: true });
    } finally {
      client.close();
    }
  });
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
