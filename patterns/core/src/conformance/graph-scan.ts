import { beforeEach, describe, expect, it } from "vitest";
import { isPrismError } from "../errors.js";
import type { EdgeRef, GraphBackend, GraphEdge, GraphNode } from "../graph.js";
import { compareUtf8 } from "../timeseries.js";
import { freshNamespace } from "./fixtures.js";
import {
  cancelledSignal,
  edge,
  edgeKey,
  edgesView,
  expectPrismError,
  type GraphSuiteContext,
  node,
  nodesView,
  timedOutSignal,
} from "./graph-fixtures.js";
import { IDS_IN_BYTE_ORDER } from "./graph-neighbors.js";
import { TYPED_PROPERTIES } from "./graph-writes.js";

/** The longest cursor a backend may hand out (UTF-8 bytes). */
const MAX_CURSOR_BYTES = 4096;

/** Ids at the gateway's 256-byte limit, with characters JSON and Gremlin escape. */
const LONG_IDS = ['"'.repeat(256), "\\".repeat(256), "é".repeat(128)];
/** A label at the 128-byte limit. */
const LONG_LABEL = '"\\'.repeat(64);

/** Every node of a namespace, page by page; checks each page's size and cursor. */
export async function scanAllNodes(
  graph: GraphBackend,
  namespace: string,
  limit: number,
  cursor?: string,
): Promise<GraphNode[]> {
  const found: GraphNode[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await graph.scanNodes(namespace, { limit, ...(cursor !== undefined && { cursor }) });
    expect(page.nodes.length).toBeLessThanOrEqual(limit);
    found.push(...page.nodes);
    if (page.cursor === undefined) return found;
    expectCursor(page.cursor);
    cursor = page.cursor;
  }
  throw new Error("the node scan did not end");
}

/** Every edge of a namespace, page by page; checks each page's size and cursor. */
export async function scanAllEdges(
  graph: GraphBackend,
  namespace: string,
  limit: number,
  cursor?: string,
): Promise<GraphEdge[]> {
  const found: GraphEdge[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await graph.scanEdges(namespace, { limit, ...(cursor !== undefined && { cursor }) });
    expect(page.edges.length).toBeLessThanOrEqual(limit);
    found.push(...page.edges);
    if (page.cursor === undefined) return found;
    expectCursor(page.cursor);
    cursor = page.cursor;
  }
  throw new Error("the edge scan did not end");
}

function expectCursor(cursor: unknown): void {
  expect(typeof cursor).toBe("string");
  expect(Buffer.byteLength(cursor as string, "utf8")).toBeLessThanOrEqual(MAX_CURSOR_BYTES);
}

const byId = (a: GraphNode, b: GraphNode) => compareUtf8(a.id, b.id);
const byKey = (a: EdgeRef, b: EdgeRef) =>
  compareUtf8(a.fromId, b.fromId) || compareUtf8(a.toId, b.toId) || compareUtf8(a.label, b.label);
const ref = ({ fromId, toId, label }: EdgeRef): EdgeRef => ({ fromId, toId, label });

/** Nodes with every property type and awkward ids; edges with parallels, self-loops and long keys. */
function scanGraph(): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const ids = [...IDS_IN_BYTE_ORDER, "a:b", "x y", ...LONG_IDS];
  const nodes = ids.map((id, i) =>
    node(id, i % 2 ? "odd" : "even", i % 3 ? { i: BigInt(i) } : TYPED_PROPERTIES),
  );
  const edges: GraphEdge[] = [
    edge("a", "b", "x", TYPED_PROPERTIES),
    edge("a", "b", "y", { n: 2n }),
    edge("b", "a", "x", { d: -0 }),
    edge("a", "a", "self"),
    edge("😀", "é", "é"),
    edge("\uFFFD", "😀", "B"),
    edge(LONG_IDS[0]!, LONG_IDS[1]!, LONG_LABEL, { s: "long" }),
    edge(LONG_IDS[1]!, LONG_IDS[2]!, LONG_LABEL),
    edge(LONG_IDS[2]!, LONG_IDS[0]!, "e"),
    ...ids.map((id) => edge("Z", id, "fan", { to: id })),
  ];
  return { nodes, edges };
}

/** GetEdges, and ScanNodes / ScanEdges: whole namespaces read page by page from an opaque cursor. */
export function graphScanTests(ctx: GraphSuiteContext): void {
  let graph: GraphBackend;
  beforeEach(() => {
    graph = ctx.graph();
  });

  async function load(): Promise<{ ns: string; nodes: GraphNode[]; edges: GraphEdge[] }> {
    const ns = freshNamespace();
    const { nodes, edges } = scanGraph();
    await graph.upsertNodes(ns, nodes, {});
    await graph.upsertEdges(ns, edges, {});
    return { ns, nodes, edges };
  }

  describe("getEdges", () => {
    it("returns the edges found in request order, leaving missing ones out and a repeat once", async () => {
      const { ns, edges } = await load();
      const [ab, abY, ba, , , , long] = edges;
      const refs = [
        ref(ba!),
        { fromId: "a", toId: "b", label: "missing" },
        ref(long!),
        ref(ab!),
        ref(ba!),
        { fromId: "ghost", toId: "a", label: "x" },
        ref(abY!),
        ref(ab!),
      ];
      const got = await graph.getEdges(ns, refs, {});
      expect(edgesView(got)).toEqual(edgesView([ba!, long!, ab!, abY!]));
      expect(await graph.getEdges(ns, [], {})).toEqual([]);
      expect(await graph.getEdges(freshNamespace(), [ref(ab!)], {})).toEqual([]);
    });
  });

  describe("scanNodes and scanEdges", () => {
    it("scans an empty namespace as one empty, complete page", async () => {
      const ns = freshNamespace();
      expect(await graph.scanNodes(ns, { limit: 3 })).toEqual({ nodes: [] });
      expect(await graph.scanEdges(ns, { limit: 3 })).toEqual({ edges: [] });
    });

    it("yields every node and edge once, as getNodes and getEdges return them, in small pages", async () => {
      const { ns, nodes, edges } = await load();
      for (const limit of [3, 1, 1000]) {
        const scanned = await scanAllNodes(graph, ns, limit);
        expect(scanned.map((n) => n.id).sort(compareUtf8)).toEqual(nodes.map((n) => n.id).sort(compareUtf8));
        const sorted = [...scanned].sort(byId);
        expect(nodesView(sorted)).toEqual(nodesView([...nodes].sort(byId)));
        expect(nodesView(sorted)).toEqual(
          nodesView(
            await graph.getNodes(
              ns,
              sorted.map((n) => n.id),
              {},
            ),
          ),
        );

        const scannedEdges = await scanAllEdges(graph, ns, limit);
        expect(scannedEdges.map(edgeKey).sort(compareUtf8)).toEqual(edges.map(edgeKey).sort(compareUtf8));
        const sortedEdges = [...scannedEdges].sort(byKey);
        expect(edgesView(sortedEdges)).toEqual(edgesView([...edges].sort(byKey)));
        expect(edgesView(sortedEdges)).toEqual(edgesView(await graph.getEdges(ns, sortedEdges.map(ref), {})));
      }
      const typed = (await scanAllNodes(graph, ns, 3)).find((n) => n.id === "B")!;
      expect(typeof typed.properties.smallBig).toBe("bigint");
      expect(typeof typed.properties.one).toBe("number");
      expect(Object.is(typed.properties.negZero, -0)).toBe(true);
      expect(typed.properties.noBytes).toBeInstanceOf(Uint8Array);
    });

    it("keeps one order, and a cursor continues the same way in a fresh call", async () => {
      const { ns } = await load();
      const order = (await scanAllNodes(graph, ns, 4)).map((n) => n.id);
      expect((await scanAllNodes(graph, ns, 5)).map((n) => n.id)).toEqual(order);
      const first = await graph.scanNodes(ns, { limit: 4 });
      const cursor = JSON.parse(JSON.stringify(first.cursor)) as string;
      const rest = (await scanAllNodes(graph, ns, 3, cursor)).map((n) => n.id);
      expect([...first.nodes.map((n) => n.id), ...rest]).toEqual(order);
      expect((await scanAllNodes(graph, ns, 3, cursor)).map((n) => n.id)).toEqual(rest);

      const edgeOrder = (await scanAllEdges(graph, ns, 4)).map(edgeKey);
      const firstEdges = await graph.scanEdges(ns, { limit: 4 });
      const restEdges = (await scanAllEdges(graph, ns, 2, firstEdges.cursor)).map(edgeKey);
      expect([...firstEdges.edges.map(edgeKey), ...restEdges]).toEqual(edgeOrder);
    });

    it("yields what existed throughout a scan once, and nothing deleted before it was reached", async () => {
      const { ns, nodes } = await load();
      const first = await graph.scanNodes(ns, { limit: 3 });
      const seen = new Set(first.nodes.map((n) => n.id));
      const unseen = nodes.map((n) => n.id).filter((id) => !seen.has(id));
      const [deleted, changed] = unseen;
      await graph.deleteNodes(ns, [deleted!], {});
      await graph.upsertNodes(ns, [node(changed!, "changed", { v: true }), node("new-1"), node("new-2")], {});
      const rest = await scanAllNodes(graph, ns, 3, first.cursor);
      const ids = [...seen, ...rest.map((n) => n.id)];
      expect(new Set(ids).size).toBe(ids.length);
      const expected = nodes.map((n) => n.id).filter((id) => id !== deleted);
      expect(ids.filter((id) => !id.startsWith("new-")).sort(compareUtf8)).toEqual(
        expected.sort(compareUtf8),
      );
      expect(nodesView(rest.filter((n) => n.id === changed))).toEqual(
        nodesView([node(changed!, "changed", { v: true })]),
      );
    });

    it("leaves deleted nodes, their edges and deleted edges out", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(
        ns,
        ["a", "b", "c", "d"].map((id) => node(id)),
        {},
      );
      await graph.upsertEdges(
        ns,
        [edge("a", "b"), edge("b", "c"), edge("c", "d"), edge("d", "a"), edge("b", "b"), edge("c", "a", "f")],
        {},
      );
      await graph.deleteNodes(ns, ["b"], {});
      await graph.deleteEdges(ns, [{ fromId: "c", toId: "a", label: "f" }], {});
      expect((await scanAllNodes(graph, ns, 2)).map((n) => n.id).sort()).toEqual(["a", "c", "d"]);
      expect((await scanAllEdges(graph, ns, 2)).map(edgeKey).sort()).toEqual(["c -e-> d", "d -e-> a"]);
      await graph.deleteNodes(ns, ["a", "c", "d"], {});
      expect(await scanAllNodes(graph, ns, 2)).toEqual([]);
      expect(await scanAllEdges(graph, ns, 2)).toEqual([]);
    });

    it("never shows another namespace's nodes or edges, also one whose name starts with this one's", async () => {
      const ns = freshNamespace();
      const others = [freshNamespace(), `${ns}-x`, `${ns}x`];
      for (const [i, name] of [ns, ...others].entries()) {
        await graph.upsertNodes(
          name,
          [node("a", "n", { ns: BigInt(i) }), node("b", "n", { ns: BigInt(i) })],
          {},
        );
        await graph.upsertEdges(name, [edge("a", "b", "e", { ns: BigInt(i) })], {});
      }
      await graph.upsertNodes(others[0]!, [node("only-there")], {});
      expect(nodesView(await scanAllNodes(graph, ns, 1))).toEqual(
        nodesView([node("a", "n", { ns: 0n }), node("b", "n", { ns: 0n })]),
      );
      expect(edgesView(await scanAllEdges(graph, ns, 1))).toEqual(
        edgesView([edge("a", "b", "e", { ns: 0n })]),
      );
      expect(edgesView(await graph.getEdges(others[1]!, [ref(edge("a", "b"))], {}))).toEqual(
        edgesView([edge("a", "b", "e", { ns: 2n })]),
      );
    });

    it("refuses a malformed cursor, another namespace's, or one of the other scan, as InvalidArgument", async () => {
      const { ns } = await load();
      const { ns: other } = await load();
      const nodeCursor = (await graph.scanNodes(ns, { limit: 2 })).cursor!;
      const edgeCursor = (await graph.scanEdges(ns, { limit: 2 })).cursor!;
      await expectPrismError(graph.scanNodes(other, { limit: 2, cursor: nodeCursor }), "InvalidArgument");
      await expectPrismError(graph.scanEdges(other, { limit: 2, cursor: edgeCursor }), "InvalidArgument");
      const bad = ["not a cursor!", "AAAA", "%%%", "{}", `${nodeCursor.slice(0, -3)}!`, "x".repeat(5000)];
      for (const cursor of bad) {
        await expectPrismError(graph.scanNodes(ns, { limit: 2, cursor }), "InvalidArgument");
        await expectPrismError(graph.scanEdges(ns, { limit: 2, cursor }), "InvalidArgument");
      }
      await expectPrismError(graph.scanNodes(ns, { limit: 2, cursor: edgeCursor }), "InvalidArgument");
      await expectPrismError(graph.scanEdges(ns, { limit: 2, cursor: nodeCursor }), "InvalidArgument");
    });

    it("rejects a fired signal with Cancelled or DeadlineExceeded", async () => {
      const { ns, edges } = await load();
      const kindOf = async (call: () => Promise<unknown>): Promise<string> => {
        try {
          await call();
          return "resolved";
        } catch (error) {
          return isPrismError(error) ? error.kind : `not a PrismError: ${String(error)}`;
        }
      };
      for (const [make, kind] of [
        [cancelledSignal, "Cancelled"],
        [timedOutSignal, "DeadlineExceeded"],
      ] as const) {
        const signal = make();
        const calls: Record<string, () => Promise<unknown>> = {
          getEdges: () => graph.getEdges(ns, [ref(edges[0]!)], { signal }),
          scanNodes: () => graph.scanNodes(ns, { limit: 3, signal }),
          scanEdges: () => graph.scanEdges(ns, { limit: 3, signal }),
        };
        for (const [method, call] of Object.entries(calls)) {
          expect(`${method}: ${await kindOf(call)}`).toBe(`${method}: ${kind}`);
        }
      }
    });
  });
}
