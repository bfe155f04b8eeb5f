import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { TsEvent } from "@prism/core";
import { ReadResponseSchema, WriteRequestSchema } from "@prism/proto/prism/timeseries/v1/timeseries";
import { describe, expect, it } from "vitest";
import { countReadEvents, encodeWriteRequest } from "./ts-client.js";
import {
  formatTsBackend,
  formatTsGoals,
  formatTsHeader,
  formatTsJson,
  type TsBackendResult,
  type TsSettings,
  type TsWindow,
  tsFailures,
  tsGoals,
  writeRatio,
} from "./ts-report.js";

const latency = (p50: number) => ({
  count: 100,
  p50,
  p90: p50 * 2,
  p99: p50 * 3,
  p999: p50 * 4,
  max: p50 * 5,
  mean: p50,
});
const window = (eventsPerSecond: number, extra: Partial<TsWindow> = {}): TsWindow => ({
  eventsPerSecond,
  events: eventsPerSecond * 10,
  elapsedMs: 10_000,
  latency: latency(2000),
  cpuMsPerThousand: 12.34,
  capped: false,
  failures: {},
  ...extra,
});

const settings: TsSettings = {
  backends: ["memory", "postgres"],
  batches: [100, 1000],
  writers: 4,
  payloadBytes: 100,
  durationS: 10,
  warmupS: 2,
  readConcurrency: 4,
  pageEvents: 1000,
  maxWindowEvents: 2_000_000,
  cpus: 2,
};

const postgres: TsBackendResult = {
  backend: "postgres",
  writes: [
    { batch: 100, first: "gateway", gateway: window(20_000), direct: window(40_000) },
    { batch: 1000, first: "direct", gateway: window(60_000), direct: window(70_000) },
  ],
  reads: { gateway: window(30_000, { latency: latency(15_500) }), direct: window(50_000) },
};

describe("the ts report", () => {
  it("prints a write row per batch size with both rates, their ratio and CPU per 1,000 events", () => {
    const text = formatTsBackend(postgres);
    expect(text).toContain("── postgres ──");
    const rows = text.split("\n");
    const row100 = rows.find((line) => line.startsWith("100 "))!;
    expect(row100).toMatch(
      /gateway\s+20,000\s+40,000\s+0\.50×\s+2\.00\s+6\.00\s+2\.00\s+6\.00\s+12\.3\s+12\.3$/,
    );
    const row1000 = rows.find((line) => line.startsWith("1,000 "))!;
    expect(row1000).toMatch(/direct\s+60,000\s+70,000\s+0\.86×/);
  });

  it("prints read latencies in ms and pages per second for both targets", () => {
    const rows = formatTsBackend(postgres).split("\n");
    expect(rows.find((line) => line.startsWith("read (pages)"))).toContain("p99 ms");
    expect(rows.find((line) => line.startsWith("gateway"))).toMatch(
      /^gateway\s+10\s+30,000\s+15\.50\s+31\.00\s+46\.50/,
    );
    expect(rows.find((line) => line.startsWith("direct "))).toMatch(/^direct\s+10\s+50,000\s+2\.00/);
  });

  it("marks capped windows and lists failed calls by window", () => {
    const text = formatTsBackend({
      backend: "memory",
      writes: [
        {
          batch: 100,
          first: "gateway",
          gateway: window(1000, { failures: { "Write: 14 unavailable": 3 } }),
          direct: window(900_000, { capped: true }),
        },
      ],
    });
    expect(text).toContain("900,000*");
    expect(text).toContain("ended at the event cap");
    expect(text).toContain("FAILED CALLS (write 100 gateway): 3 × Write: 14 unavailable");
  });

  it("says why a backend was not measured", () => {
    expect(formatTsBackend({ backend: "kafka", writes: [], error: "no kafka driver" })).toBe(
      "── kafka ──\nNOT MEASURED: no kafka driver\n",
    );
  });

  it("judges the goals: 0.8× direct per batch size, and postgres ≥ 50,000 events/s at 1,000", () => {
    const goals = tsGoals([postgres]);
    expect(goals.map((g) => g.met)).toEqual([false, true, true]);
    expect(goals[2]!.text).toBe("postgres batch 1,000 through the gateway: 60,000 events/s (goal ≥ 50,000)");
    const text = formatTsGoals([postgres]);
    expect(text).toContain(
      "BELOW GOAL  postgres batch 100: gateway 0.50× the direct write throughput (goal ≥ 0.8×)",
    );
    expect(text).toContain("PASS        postgres batch 1,000: gateway 0.86×");
    expect(formatTsGoals([])).toBe("");
  });

  it("reports, without judging, the ratio of an in-process backend (no client to compare; ADR-0020)", () => {
    const memory = { ...postgres, backend: "memory" };
    const goals = tsGoals([memory]);
    expect(goals).toHaveLength(2);
    expect(goals.every((g) => g.informational && !g.met)).toBe(true);
    expect(formatTsGoals([memory])).toContain(
      "REPORTED    memory batch 100: gateway 0.50× the direct write throughput (in-process direct: the price of the gRPC hop, ADR-0020)",
    );
  });

  it("a ratio against a direct side that wrote nothing is 0, not Infinity", () => {
    expect(writeRatio({ gateway: window(10), direct: window(0) })).toBe(0);
  });

  it("prints the settings in the header and every number as one JSON line", () => {
    expect(formatTsHeader(settings)).toContain("batches of 100 and 1,000");
    const line = formatTsJson(settings, [postgres]);
    expect(line).not.toContain("\n");
    const parsed = JSON.parse(line);
    expect(parsed.bench).toBe("ts");
    expect(parsed.results[0].writes[0].ratio).toBe(0.5);
    expect(parsed.goals).toHaveLength(3);
  });

  it("counts failed calls and unmeasured backends", () => {
    const failing: TsBackendResult = {
      backend: "nats",
      writes: [
        { batch: 100, first: "gateway", gateway: window(1, { failures: { a: 2, b: 1 } }), direct: window(1) },
      ],
    };
    expect(tsFailures([postgres])).toBe(0);
    expect(tsFailures([postgres, failing, { backend: "kafka", writes: [], error: "down" }])).toBe(4);
  });
});

describe("the lean TimeSeries client's wire format", () => {
  it("encodes a WriteRequest that protobuf-es decodes to the same events", () => {
    const events: TsEvent[] = [
      {
        eventTimeUs: 1_700_000_000_123_456n,
        eventId: "e0",
        payload: new Uint8Array([1, 2, 3]),
        tags: { a: "x" },
      },
      { eventTimeUs: 1_700_000_001_000_000n, eventId: "é-ü", payload: new Uint8Array(300).fill(7), tags: {} },
      { eventTimeUs: 5n, eventId: "tiny", payload: new Uint8Array(), tags: { k: "", "": "v", writer: "w1" } },
    ];
    const decoded = fromBinary(WriteRequestSchema, encodeWriteRequest("ns-1", "series/ü", events));
    expect(decoded.namespace).toBe("ns-1");
    expect(decoded.seriesId).toBe("series/ü");
    expect(
      decoded.events.map((e) => ({
        us: e.eventTime!.seconds * 1_000_000n + BigInt(e.eventTime!.nanos / 1000),
        id: e.eventId,
        payload: [...e.payload],
        tags: e.tags,
      })),
    ).toEqual(
      events.map((e) => ({ us: e.eventTimeUs, id: e.eventId, payload: [...e.payload], tags: e.tags })),
    );
  });

  it("counts the events of a ReadResponse without decoding them", () => {
    const response = create(ReadResponseSchema, {
      events: Array.from({ length: 1000 }, (_, i) => ({ eventId: `e${i}`, payload: new Uint8Array(100) })),
      nextPageToken: "token",
    });
    expect(countReadEvents(toBinary(ReadResponseSchema, response))).toBe(1000);
    expect(countReadEvents(new Uint8Array())).toBe(0);
    expect(() => countReadEvents(new Uint8Array([0x0a, 0x05, 1]))).toThrow(/truncated/);
  });
});
