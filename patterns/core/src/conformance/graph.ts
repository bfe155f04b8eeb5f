import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../backend.js";
import type { GraphBackend } from "../graph.js";
import { graphConcurrencyTests } from "./graph-concurrency.js";
import type { GraphSuiteContext } from "./graph-fixtures.js";
import { graphNeighborsTests } from "./graph-neighbors.js";
import { graphShortestPathTests } from "./graph-path.js";
import { graphScanTests } from "./graph-scan.js";
import { graphSignalTests } from "./graph-signal.js";
import { graphTraverseTests } from "./graph-traverse.js";
import { graphDeleteTests, graphWriteTests } from "./graph-writes.js";

/** A backend under test: how to open it. */
export interface GraphConformanceTarget {
  /** Shown in test names, e.g. `postgres`. */
  name: string;
  open(): Promise<Backend>;
}

/**
 * The Graph conformance suite: upserts (replace semantics, typed properties), edges refused whole
 * when an endpoint is missing, GetNodes, deletes with their incident edges, Neighbors order and
 * paging, BFS Traverse and ShortestPath with their filters and bounds, GetEdges, whole-namespace
 * scans, and fired signals. Every test uses a fresh namespace.
 *
 * Contract choices this suite pins where the interface leaves room:
 * - `getNodes` returns each requested id that exists once, in first-request order (a repeated id
 *   is not returned twice).
 * - Traverse expands the start node even when `nodeLabels` does not name its label.
 * - Traverse under `limit` keeps BFS order: every node it returns at depth d comes after all
 *   returned nodes of depth < d, and no node of depth < d is left out while one of depth d is in.
 * - `getEdges`, like `getNodes`, returns a repeated ref once, at its first position.
 * - A scan cursor belongs to its namespace and its scan: another namespace's, or a `scanNodes`
 *   cursor given to `scanEdges`, is refused (InvalidArgument). An empty namespace scans as one
 *   empty page without a cursor.
 *
 * @example graphConformance({ name: "memory", open: async () => memoryDriver.open(ctx) })
 */
export function graphConformance(target: GraphConformanceTarget): void {
  describe(`Graph conformance: ${target.name}`, () => {
    let backend: Backend;
    let graph: GraphBackend;

    beforeAll(async () => {
      backend = await target.open();
      if (!backend.graph) throw new Error(`${target.name} does not implement graph`);
      graph = backend.graph;
    });
    afterAll(async () => backend?.close());

    it("declares its capabilities as booleans", () => {
      expect(typeof graph.capabilities.nativeTraversal).toBe("boolean");
    });

    const ctx: GraphSuiteContext = { graph: () => graph };
    graphWriteTests(ctx);
    graphDeleteTests(ctx);
    graphNeighborsTests(ctx);
    graphTraverseTests(ctx);
    graphShortestPathTests(ctx);
    graphSignalTests(ctx);
    graphConcurrencyTests(ctx);
    graphScanTests(ctx);
  });
}
