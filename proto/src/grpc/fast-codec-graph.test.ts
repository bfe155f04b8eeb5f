import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  GetNodesResponseSchema,
  NeighborsResponseSchema,
  ShortestPathResponseSchema,
  TraverseResponseSchema,
  type Value,
} from "../gen/prism/graph/v1/graph_pb.js";
import {
  decodeNeighborsResponse,
  decodeTraverseResponse,
  encodeGetNodesResponse,
  encodeNeighborsResponse,
  encodeShortestPathResponse,
  encodeTraverseResponse,
} from "./fast-codec-graph.js";

/** Deterministic nodes and edges whose properties touch every value kind and its edge cases. */
function generator(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state;
  };
  const texts = ["", "a", "é", "😀", "x".repeat(200)];
  const values: Value["kind"][] = [
    { case: "stringValue", value: "" },
    { case: "stringValue", value: "😀 text" },
    { case: "intValue", value: 0n },
    { case: "intValue", value: -1n },
    { case: "intValue", value: 9_223_372_036_854_775_807n },
    { case: "intValue", value: -9_223_372_036_854_775_808n },
    { case: "doubleValue", value: 0 },
    { case: "doubleValue", value: -0 },
    { case: "doubleValue", value: 5e-324 },
    { case: "doubleValue", value: 1.5 },
    { case: "boolValue", value: false },
    { case: "boolValue", value: true },
    { case: "bytesValue", value: new Uint8Array(0) },
    { case: "bytesValue", value: Uint8Array.of(0, 255, 7) },
  ];
  const properties = () => {
    const result: Record<string, { kind: Value["kind"] }> = {};
    for (let i = next() % 5; i > 0; i--)
      result[texts[next() % texts.length]!] = { kind: values[next() % values.length]! };
    return result;
  };
  const pick = () => texts[next() % texts.length]!;
  return {
    node: () => ({ id: pick(), label: pick(), properties: properties() }),
    edge: () => ({ fromId: pick(), toId: pick(), label: pick(), properties: properties() }),
    count: (n: number) => next() % n,
  };
}

describe("hand-written Graph encoders", () => {
  it("encode what protobuf-es decodes to the same message", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const g = generator(seed);
      const neighbors = create(NeighborsResponseSchema, {
        neighbors: Array.from({ length: g.count(25) }, () => ({ edge: g.edge(), node: g.node() })),
        nextPageToken: seed % 2 ? "token" : "",
      });
      expect(
        equals(
          NeighborsResponseSchema,
          fromBinary(NeighborsResponseSchema, encodeNeighborsResponse(neighbors)),
          neighbors,
        ),
      ).toBe(true);
      const step = create(TraverseResponseSchema, {
        steps: Array.from({ length: g.count(8) }, (_, i) => ({
          ...((seed + i) % 5 ? { node: g.node() } : {}),
          depth: g.count(3) * 70,
          ...((seed + i) % 3 ? { via: g.edge() } : {}),
        })),
      });
      expect(
        equals(
          TraverseResponseSchema,
          fromBinary(TraverseResponseSchema, encodeTraverseResponse(step)),
          step,
        ),
      ).toBe(true);
      const nodes = create(GetNodesResponseSchema, {
        nodes: Array.from({ length: g.count(10) }, g.node),
        missingIds: Array.from({ length: g.count(4) }, () => `missing-${g.count(100)}`),
      });
      expect(
        equals(
          GetNodesResponseSchema,
          fromBinary(GetNodesResponseSchema, encodeGetNodesResponse(nodes)),
          nodes,
        ),
      ).toBe(true);
      const path = create(ShortestPathResponseSchema, {
        found: seed % 2 === 0,
        nodes: Array.from({ length: g.count(6) }, g.node),
        edges: Array.from({ length: g.count(5) }, g.edge),
      });
      expect(
        equals(
          ShortestPathResponseSchema,
          fromBinary(ShortestPathResponseSchema, encodeShortestPathResponse(path)),
          path,
        ),
      ).toBe(true);
    }
  });

  it("keep -0 and the int64 limits exactly", () => {
    const step = create(TraverseResponseSchema, {
      steps: [
        {
          node: { id: "n", label: "l", properties: { z: { kind: { case: "doubleValue", value: -0 } } } },
          via: {
            fromId: "a",
            toId: "n",
            label: "e",
            properties: { min: { kind: { case: "intValue", value: -(2n ** 63n) } } },
          },
          depth: 1,
        },
      ],
    });
    const [decoded] = fromBinary(TraverseResponseSchema, encodeTraverseResponse(step)).steps;
    expect(Object.is(decoded!.node!.properties.z!.kind.value, -0)).toBe(true);
    expect(decoded!.via!.properties.min!.kind.value).toBe(-(2n ** 63n));
  });

  it("decode what protobuf-es encodes to the same message, and refuse truncated input", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const g = generator(seed);
      const neighbors = create(NeighborsResponseSchema, {
        neighbors: Array.from({ length: g.count(25) }, (_, i) => ({
          ...(i % 7 === 3 ? {} : { edge: g.edge() }),
          ...(i % 5 === 4 ? {} : { node: g.node() }),
        })),
        nextPageToken: seed % 2 ? "token" : "",
      });
      const neighborBytes = toBinary(NeighborsResponseSchema, neighbors);
      expect(equals(NeighborsResponseSchema, decodeNeighborsResponse(neighborBytes), neighbors)).toBe(true);
      const traverse = create(TraverseResponseSchema, {
        steps: Array.from({ length: g.count(8) }, (_, i) => ({
          ...((seed + i) % 5 ? { node: g.node() } : {}),
          depth: g.count(3) * 70,
          ...((seed + i) % 3 ? { via: g.edge() } : {}),
        })),
      });
      const traverseBytes = toBinary(TraverseResponseSchema, traverse);
      expect(equals(TraverseResponseSchema, decodeTraverseResponse(traverseBytes), traverse)).toBe(true);
      if (traverseBytes.length > 2) {
        expect(() => decodeTraverseResponse(traverseBytes.subarray(0, traverseBytes.length - 1))).toThrow();
      }
    }
  });
});
