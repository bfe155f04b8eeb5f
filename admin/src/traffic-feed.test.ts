import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { GetTrafficResponseSchema } from "@prism/proto/prism/admin/v1/admin";
import { describe, expect, it } from "vitest";
import type { TrafficTick } from "./api-types.js";
import { quantileMs, TrafficFeed } from "./traffic-feed.js";

const BOUNDS = [0.001, 0.01, 0.1];

function answer(at: number, requests: number, buckets: number[], errors: Record<string, bigint> = {}) {
  return create(GetTrafficResponseSchema, {
    time: timestampFromMs(at),
    latencyBoundsSeconds: BOUNDS,
    namespaces: [
      {
        namespace: "orders",
        requests: BigInt(requests),
        latencyBuckets: buckets.map(BigInt),
        errorsByCode: errors,
      },
      { namespace: "", requests: 999n, latencyBuckets: [999n, 0n, 0n, 0n] },
    ],
  });
}

describe("quantileMs", () => {
  it("interpolates inside the bucket the rank falls in", () => {
    // 100 calls: 50 under 1 ms, 50 between 1 and 10 ms.
    expect(quantileMs([50, 50, 0, 0], BOUNDS, 0.5)).toBeCloseTo(1);
    expect(quantileMs([50, 50, 0, 0], BOUNDS, 0.99)).toBeCloseTo(1 + (9 * 49) / 50);
    expect(quantileMs([0, 0, 0, 0], BOUNDS, 0.5)).toBe(0);
    // Above the last bound: reported as the last bound.
    expect(quantileMs([0, 0, 0, 10], BOUNDS, 0.99)).toBe(100);
  });
});

describe("TrafficFeed", () => {
  it("turns two answers into a point per namespace and polls only while watched", async () => {
    const answers = [
      answer(10_000, 100, [100, 0, 0, 0]),
      answer(12_000, 300, [100, 200, 0, 0], { UNAVAILABLE: 20n }),
    ];
    let polls = 0;
    const feed = new TrafficFeed(
      async () => answers[Math.min(polls++, 1)]!,
      () => {},
    );
    const ticks: TrafficTick[] = [];
    const { history, unsubscribe } = feed.subscribe((tick) => ticks.push(tick));
    expect(history.namespaces).toEqual({});
    await new Promise((resolve) => setTimeout(resolve, 20));
    await feed.poll();
    const point = ticks.at(-1)!.points.orders!;
    expect(point.rps).toBe(100);
    expect(point.errors).toEqual({ UNAVAILABLE: 10 });
    expect(point.p50Ms).toBeGreaterThan(1);
    expect(ticks.at(-1)!.points[""]).toBeUndefined();
    expect(feed.rates().get("orders")).toBe(100);
    unsubscribe();
    const before = polls;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(polls).toBe(before);
  });
});
