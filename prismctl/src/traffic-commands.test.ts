import { create } from "@bufbuild/protobuf";
import { GetTrafficResponseSchema } from "@prism/proto/prism/admin/v1/admin";
import { describe, expect, it } from "vitest";
import { trafficRows } from "./traffic-commands.js";

describe("traffic rows", () => {
  it("show requests, errors, mean and bucket quantiles per namespace, busiest first", () => {
    const answer = create(GetTrafficResponseSchema, {
      latencyBoundsSeconds: [0.001, 0.005, 0.1],
      namespaces: [
        {
          namespace: "",
          requests: 1n,
          errorsByCode: { NOT_FOUND: 1n },
          latencyBuckets: [1n, 0n, 0n, 0n],
          latencySumSeconds: 0.0005,
        },
        {
          namespace: "orders",
          requests: 100n,
          errorsByCode: { UNAVAILABLE: 2n, NOT_FOUND: 3n },
          latencyBuckets: [40n, 55n, 4n, 1n],
          latencySumSeconds: 0.35,
        },
        { namespace: "idle", requests: 0n, latencyBuckets: [0n, 0n, 0n, 0n] },
      ],
    });
    expect(trafficRows(answer)).toEqual([
      "orders\t100\t5\t3.5ms\t≤5ms\t≤100ms\tNOT_FOUND=3,UNAVAILABLE=2",
      "(none)\t1\t1\t0.5ms\t≤1ms\t≤1ms\tNOT_FOUND=1",
      "idle\t0\t0\t-\t-\t-\t-",
    ]);
    // Past the last bound: the +Inf bucket.
    answer.namespaces[1]!.latencyBuckets = [0n, 0n, 0n, 100n];
    expect(trafficRows(answer)[0]).toContain("\t>100ms\t>100ms\t");
  });
});
