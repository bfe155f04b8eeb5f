import { beforeEach, describe, expect, it } from "vitest";
import type { GraphBackend, GraphEdge, PropertyValue } from "../graph.js";
import { freshNamespace } from "./fixtures.js";
import {
  edge,
  edgesView,
  expectedNeighbors,
  expectPrismError,
  type GraphSuiteContext,
  neighborKey,
  neighborsOptions,
  node,
  nodesView,
  propsView,
} from "./graph-fixtures.js";

/**
 * Every property type at its edges: what a backend must store and return exactly, with its JS
 * type (a number stays a number, a bigint a bigint).
 */
export const TYPED_PROPERTIES: Record<string, PropertyValue> = {
  text: "plain",
  emoji: "😀 é \uFFFD",
  empty: "",
  int64Min: -(2n ** 63n),
  int64Max: 2n ** 63n - 1n,
  zeroBig: 0n,
  smallBig: 1n,
  tenth: 0.1,
  negZero: -0,
  zero: 0,
  one: 1,
  huge: 1e308,
  tiniest: 5e-324,
  negative: -2.5,
  beyondSafe: 2 ** 53 + 2,
  yes: true,
  no: false,
  bytes: new Uint8Array([0, 1, 2, 255]),
  noBytes: new Uint8Array(),
  zeroBytes: new Uint8Array(16),
  "ключ 🔑": "unicode name",
};

/** Upserts (replace semantics, typed properties, endpoint checks) and GetNodes. */
export function graphWriteTests(ctx: GraphSuiteContext): void {
  let graph: GraphBackend;
  beforeEach(() => {
    graph = ctx.graph();
  });
  const all = neighborsOptions();

  describe("upsert and getNodes", () => {
    it("upserts nodes in batches, counts them and returns them in request order", async () => {
      const ns = freshNamespace();
      const first = [node("a", "person"), node("b", "person"), node("c", "city")];
      expect(await graph.upsertNodes(ns, first, {})).toBe(3);
      expect(await graph.upsertNodes(ns, [node("d", "city"), node("a", "person")], {})).toBe(2);
      const got = await graph.getNodes(ns, ["d", "c", "a", "b"], {});
      expect(nodesView(got)).toEqual(nodesView([node("d", "city"), first[2]!, first[0]!, first[1]!]));
    });

    it("leaves missing ids out and returns a repeated id once, at its first position", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("a"), node("b"), node("c")], {});
      const got = await graph.getNodes(ns, ["missing", "c", "a", "c", "gone", "a", "b"], {});
      expect(got.map((n) => n.id)).toEqual(["c", "a", "b"]);
      expect(await graph.getNodes(ns, ["nothing", "here"], {})).toEqual([]);
      expect(await graph.getNodes(freshNamespace(), ["a"], {})).toEqual([]);
      expect(await graph.getNodes(ns, [], {})).toEqual([]);
    });

    it("replaces a node wholly: a property left out is removed, the label changes", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("a", "person", { name: "Ada", born: 1815n, city: "London" })], {});
      await graph.upsertNodes(ns, [node("a", "engineer", { name: "Ada L." })], {});
      expect(nodesView(await graph.getNodes(ns, ["a"], {}))).toEqual(
        nodesView([node("a", "engineer", { name: "Ada L." })]),
      );
      await graph.upsertNodes(ns, [node("a", "engineer")], {});
      expect(nodesView(await graph.getNodes(ns, ["a"], {}))).toEqual(nodesView([node("a", "engineer")]));
    });

    it("round-trips every property type exactly, with its JS type, on nodes and edges", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("typed", "t", TYPED_PROPERTIES), node("other")], {});
      const [stored] = await graph.getNodes(ns, ["typed"], {});
      expect(propsView(stored!.properties)).toEqual(propsView(TYPED_PROPERTIES));
      expect(typeof stored!.properties.one).toBe("number");
      expect(typeof stored!.properties.smallBig).toBe("bigint");
      expect(Object.is(stored!.properties.negZero, -0)).toBe(true);
      expect(stored!.properties.noBytes).toBeInstanceOf(Uint8Array);

      await graph.upsertEdges(ns, [edge("typed", "other", "rel", TYPED_PROPERTIES)], {});
      const { neighbors } = await graph.neighbors(ns, "other", all);
      expect(neighbors.map((n) => propsView(n.edge.properties))).toEqual([propsView(TYPED_PROPERTIES)]);
      expect(propsView(neighbors[0]!.node.properties)).toEqual(propsView(TYPED_PROPERTIES));
    });

    it("keeps what it stored when the caller later changes its objects and bytes", async () => {
      const ns = freshNamespace();
      const bytes = new Uint8Array([1, 2, 3]);
      const properties: Record<string, PropertyValue> = { bytes, name: "x" };
      await graph.upsertNodes(ns, [node("a", "n", properties)], {});
      bytes[0] = 9;
      properties.name = "changed";
      properties.added = true;
      const [stored] = await graph.getNodes(ns, ["a"], {});
      expect(propsView(stored!.properties)).toEqual(
        propsView({ bytes: new Uint8Array([1, 2, 3]), name: "x" }),
      );
    });

    it("upserts an empty batch of nodes or edges as nothing", async () => {
      const ns = freshNamespace();
      expect(await graph.upsertNodes(ns, [], {})).toBe(0);
      expect(await graph.upsertEdges(ns, [], {})).toBe(0);
    });

    it("keeps namespaces apart", async () => {
      const first = freshNamespace();
      const second = freshNamespace();
      await graph.upsertNodes(first, [node("a", "x", { v: "first" }), node("b")], {});
      await graph.upsertNodes(second, [node("a", "y", { v: "second" })], {});
      await graph.upsertEdges(first, [edge("a", "b")], {});
      expect(nodesView(await graph.getNodes(first, ["a", "b"], {}))).toEqual(
        nodesView([node("a", "x", { v: "first" }), node("b")]),
      );
      expect((await graph.neighbors(second, "a", all)).neighbors).toEqual([]);
      await expectPrismError(
        graph.upsertEdges(second, [edge("a", "b")], {}),
        "FailedPrecondition",
        "EDGE_ENDPOINT_MISSING",
        {
          node_id: "b",
        },
      );
    });
  });

  describe("upsertEdges", () => {
    it("upserts edges in batches and counts them; an edge is unique per (from, to, label)", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("a"), node("b"), node("c")], {});
      const edges = [
        edge("a", "b", "knows", { since: 2001n }),
        edge("a", "b", "likes"),
        edge("b", "c", "knows"),
      ];
      expect(await graph.upsertEdges(ns, edges, {})).toBe(3);
      expect(await graph.upsertEdges(ns, [edge("a", "b", "knows", { since: 2010n, weight: 0.5 })], {})).toBe(
        1,
      );
      const { neighbors } = await graph.neighbors(ns, "a", all);
      expect(neighbors.map(neighborKey)).toEqual(expectedNeighbors(edges, "a", "both"));
      expect(edgesView(neighbors.map((n) => n.edge))).toEqual(
        edgesView([edge("a", "b", "knows", { since: 2010n, weight: 0.5 }), edge("a", "b", "likes")]),
      );
    });

    it("replaces an edge's properties wholly", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("a"), node("b")], {});
      await graph.upsertEdges(ns, [edge("a", "b", "e", { x: 1n, y: "keep?" })], {});
      await graph.upsertEdges(ns, [edge("a", "b", "e", { x: 2n })], {});
      const { neighbors } = await graph.neighbors(ns, "a", all);
      expect(edgesView(neighbors.map((n) => n.edge))).toEqual(edgesView([edge("a", "b", "e", { x: 2n })]));
    });

    it("refuses a batch with a missing endpoint whole, naming the node, and writes none of it", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("a"), node("b"), node("c")], {});
      await graph.upsertEdges(ns, [edge("a", "b", "old", { v: 1n })], {});
      const batch = [
        edge("a", "c", "new"),
        edge("a", "b", "old", { v: 2n }),
        edge("b", "ghost", "new"),
        edge("c", "a"),
      ];
      await expectPrismError(
        graph.upsertEdges(ns, batch, {}),
        "FailedPrecondition",
        "EDGE_ENDPOINT_MISSING",
        {
          node_id: "ghost",
        },
      );
      await expectPrismError(
        graph.upsertEdges(ns, [edge("phantom", "a")], {}),
        "FailedPrecondition",
        "EDGE_ENDPOINT_MISSING",
        {
          node_id: "phantom",
        },
      );
      const stored: GraphEdge[] = [edge("a", "b", "old", { v: 1n })];
      for (const id of ["a", "b", "c"]) {
        const { neighbors } = await graph.neighbors(ns, id, all);
        expect(neighbors.map(neighborKey)).toEqual(expectedNeighbors(stored, id, "both"));
      }
      expect(edgesView((await graph.neighbors(ns, "a", all)).neighbors.map((n) => n.edge))).toEqual(
        edgesView(stored),
      );
      expect(await graph.getNodes(ns, ["ghost", "phantom"], {})).toEqual([]);
    });

    it("keeps parallel edges with different labels, and edges both ways, apart", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("a"), node("b")], {});
      const edges = [
        edge("a", "b", "x", { n: 1n }),
        edge("a", "b", "y", { n: 2n }),
        edge("b", "a", "x", { n: 3n }),
      ];
      await graph.upsertEdges(ns, edges, {});
      const { neighbors } = await graph.neighbors(ns, "a", all);
      expect(neighbors.map(neighborKey)).toEqual(["out b a -x-> b", "in b b -x-> a", "out b a -y-> b"]);
      expect(edgesView(neighbors.map((n) => n.edge))).toEqual(edgesView([edges[0]!, edges[2]!, edges[1]!]));
    });
  });
}

/** DeleteNodes (with incident edges) and DeleteEdges. */
export function graphDeleteTests(ctx: GraphSuiteContext): void {
  let graph: GraphBackend;
  beforeEach(() => {
    graph = ctx.graph();
  });
  const all = neighborsOptions();

  describe("deleteNodes and deleteEdges", () => {
    it("deletes nodes with their edges in both directions; re-creating a node brings no edge back", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(
        ns,
        ["hub", "a", "b", "c"].map((id) => node(id)),
        {},
      );
      const edges = [
        edge("hub", "a"),
        edge("b", "hub"),
        edge("hub", "hub"),
        edge("a", "b"),
        edge("c", "hub", "f"),
      ];
      await graph.upsertEdges(ns, edges, {});
      expect(await graph.deleteNodes(ns, ["hub", "missing"], {})).toBe(1);
      expect((await graph.getNodes(ns, ["hub", "a"], {})).map((n) => n.id)).toEqual(["a"]);
      const left = [edge("a", "b")];
      for (const id of ["a", "b", "c"]) {
        const { neighbors, more } = await graph.neighbors(ns, id, all);
        expect(neighbors.map(neighborKey)).toEqual(expectedNeighbors(left, id, "both"));
        expect(more).toBe(false);
      }
      await expectPrismError(graph.neighbors(ns, "hub", all), "NotFound", "NODE_NOT_FOUND", {
        node_id: "hub",
      });
      await graph.upsertNodes(ns, [node("hub")], {});
      expect((await graph.neighbors(ns, "hub", all)).neighbors).toEqual([]);
      expect((await graph.neighbors(ns, "c", all)).neighbors).toEqual([]);
    });

    it("counts only nodes that existed", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("a"), node("b")], {});
      expect(await graph.deleteNodes(ns, ["x", "y"], {})).toBe(0);
      expect(await graph.deleteNodes(ns, ["a", "b", "x"], {})).toBe(2);
      expect(await graph.deleteNodes(ns, ["a"], {})).toBe(0);
      expect(await graph.deleteNodes(ns, [], {})).toBe(0);
      expect(await graph.getNodes(ns, ["a", "b"], {})).toEqual([]);
    });

    it("deletes edges by (from, to, label), counts those that existed, keeps the nodes", async () => {
      const ns = freshNamespace();
      await graph.upsertNodes(ns, [node("a"), node("b")], {});
      await graph.upsertEdges(ns, [edge("a", "b", "x"), edge("a", "b", "y"), edge("b", "a", "x")], {});
      const refs = [
        { fromId: "a", toId: "b", label: "x" },
        { fromId: "a", toId: "b", label: "z" },
        { fromId: "b", toId: "a", label: "y" },
        { fromId: "ghost", toId: "a", label: "x" },
      ];
      expect(await graph.deleteEdges(ns, refs, {})).toBe(1);
      const { neighbors } = await graph.neighbors(ns, "a", all);
      expect(neighbors.map(neighborKey)).toEqual(["in b b -x-> a", "out b a -y-> b"]);
      expect(await graph.deleteEdges(ns, refs, {})).toBe(0);
      expect(await graph.deleteEdges(ns, [], {})).toBe(0);
      expect((await graph.getNodes(ns, ["a", "b"], {})).map((n) => n.id)).toEqual(["a", "b"]);
    });
  });
}
