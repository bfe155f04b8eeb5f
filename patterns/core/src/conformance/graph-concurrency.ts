import { describe, expect, it } from "vitest";
import { compareUtf8 } from "../timeseries.js";
import { freshNamespace } from "./fixtures.js";
import { edge, type GraphSuiteContext, neighborPages, neighborsOptions, node } from "./graph-fixtures.js";

const WRITERS = 6;
const PER_WRITER = 30;

/**
 * Concurrent callers: writers add nodes and edges around one hub while readers page the hub's
 * neighbours and traverse from it. Every read must be consistent on its own (pages in cursor
 * order, no neighbour twice, every neighbour a node that exists with its label), and once the
 * writers are done the hub has exactly every edge that was acknowledged.
 */
export function graphConcurrencyTests(ctx: GraphSuiteContext): void {
  describe("concurrent callers", () => {
    it("writers around one hub and readers paging it: every read consistent, nothing lost", async () => {
      const graph = ctx.graph();
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("hub", "hub")], {});
      let writing = true;
      const writer = async (w: number) => {
        for (let batch = 0; batch < 3; batch++) {
          const ids = Array.from({ length: PER_WRITER / 3 }, (_, i) => `w${w}-${batch}-${i}`);
          await graph.upsertNodes(
            ns,
            ids.map((id) => node(id, "leaf", { writer: BigInt(w) })),
            {},
          );
          await graph.upsertEdges(
            ns,
            ids.map((id) => edge("hub", id, "has")),
            {},
          );
        }
      };
      let reads = 0;
      const reader = async () => {
        while (writing) {
          const pages = await neighborPages(
            graph,
            ns,
            "hub",
            neighborsOptions({ direction: "out", limit: 7 }),
          );
          const ids = pages.flat().map((n) => n.node.id);
          expect(new Set(ids).size, "a neighbour listed twice").toBe(ids.length);
          expect([...ids].sort(compareUtf8), "pages out of cursor order").toEqual(ids);
          for (const n of pages.flat()) expect(n.node.label).toBe("leaf");
          const steps = await graph.traverse(ns, "hub", {
            direction: "out",
            maxDepth: 1,
            edgeLabels: [],
            nodeLabels: [],
            limit: 10_000,
            visitBudget: 100_000,
          });
          expect(new Set(steps.map((s) => s.node.id)).size).toBe(steps.length);
          reads++;
        }
      };
      const readers = [reader(), reader()];
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w))).finally(() => {
        writing = false;
      });
      await Promise.all(readers);
      expect(reads).toBeGreaterThan(0);
      const all = (await neighborPages(graph, ns, "hub", neighborsOptions({ direction: "out" }))).flat();
      expect(all.map((n) => n.node.id).sort(compareUtf8)).toEqual(
        Array.from({ length: WRITERS }, (_, w) =>
          Array.from({ length: 3 }, (_, b) =>
            Array.from({ length: PER_WRITER / 3 }, (_, i) => `w${w}-${b}-${i}`),
          ),
        )
          .flat(2)
          .sort(compareUtf8),
      );
    });
  });
}
