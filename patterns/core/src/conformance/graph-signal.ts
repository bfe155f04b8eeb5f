import { beforeEach, describe, expect, it } from "vitest";
import { isPrismError } from "../errors.js";
import type { GraphBackend } from "../graph.js";
import { freshNamespace } from "./fixtures.js";
import {
  cancelledSignal,
  edge,
  type GraphSuiteContext,
  neighborsOptions,
  node,
  timedOutSignal,
} from "./graph-fixtures.js";

/** Every Graph method rejects a fired signal with Cancelled or DeadlineExceeded; writes write nothing. */
export function graphSignalTests(ctx: GraphSuiteContext): void {
  let graph: GraphBackend;
  beforeEach(() => {
    graph = ctx.graph();
  });
  const kindOf = async (call: Promise<unknown>): Promise<string> => {
    try {
      await call;
      return "resolved";
    } catch (error) {
      return isPrismError(error) ? error.kind : `not a PrismError: ${String(error)}`;
    }
  };

  describe("signal", () => {
    it("rejects every call with a fired signal as Cancelled or DeadlineExceeded, and writes nothing", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("a"), node("b")], {});
      await graph.upsertEdges(ns, [edge("a", "b")], {});
      // Thunks, so each call starts only when awaited: no rejection waits unobserved.
      const calls = (signal: AbortSignal): Record<string, () => Promise<unknown>> => ({
        upsertNodes: () => graph.upsertNodes(ns, [node("c"), node("a", "changed")], { signal }),
        upsertEdges: () => graph.upsertEdges(ns, [edge("b", "a")], { signal }),
        getNodes: () => graph.getNodes(ns, ["a"], { signal }),
        deleteNodes: () => graph.deleteNodes(ns, ["b"], { signal }),
        deleteEdges: () => graph.deleteEdges(ns, [{ fromId: "a", toId: "b", label: "e" }], { signal }),
        neighbors: () => graph.neighbors(ns, "a", neighborsOptions({ signal })),
        traverse: () =>
          graph.traverse(ns, "a", {
            direction: "both",
            maxDepth: 3,
            edgeLabels: [],
            nodeLabels: [],
            limit: 100,
            visitBudget: 1000,
            signal,
          }),
        shortestPath: () =>
          graph.shortestPath(ns, "a", "b", {
            direction: "out",
            maxDepth: 3,
            edgeLabels: [],
            visitBudget: 1000,
            signal,
          }),
      });
      for (const [make, kind] of [
        [cancelledSignal, "Cancelled"],
        [timedOutSignal, "DeadlineExceeded"],
      ] as const) {
        for (const [method, call] of Object.entries(calls(make()))) {
          expect(`${method}: ${await kindOf(call())}`).toBe(`${method}: ${kind}`);
        }
      }
      const nodes = await graph.getNodes(ns, ["a", "b", "c"], {});
      expect(nodes.map((n) => `${n.id}:${n.label}`)).toEqual(["a:n", "b:n"]);
      const { neighbors } = await graph.neighbors(ns, "a", neighborsOptions());
      expect(neighbors.map((n) => `${n.edge.fromId}->${n.edge.toId}`)).toEqual(["a->b"]);
    });
  });
}
