import { status } from "@grpc/grpc-js";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { Direction, GraphService, type Node, type Value } from "@prism/proto/prism/graph/v1/graph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, removeDataDir, startBackendMatrix } from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";

/**
 * Graph end to end on every backend: the gateway as a process, driven over gRPC, on a graph large
 * enough to page (a hub with 2,000 edges) and with cycles (a ring), every RPC at least once.
 */
const BACKENDS = ["mem", "local", "pg", "neptune"] as const;
const LEAVES = 2000;
const RING = 30;
const BUDGET = 3000;

let gateway: GatewayProcess;
let graph: PromiseClient<typeof GraphService.method> & { close(): void };

beforeAll(async () => {
  gateway = await startBackendMatrix("gre2e", {
    namespaces: BACKENDS.map((backend) => ({
      name: `graph-${backend}`,
      pattern: "graph",
      backend,
      limits: { visit_budget: BUDGET },
    })),
    graph: { maxDepth: 40, traverseMessageBytes: 16 * 1024 },
  });
  graph = createPromiseClient(GraphService, { address: gateway.address });
}, 90_000);

afterAll(async () => {
  graph?.close();
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

const str = (value: string): Value => ({
  $typeName: "prism.graph.v1.Value",
  kind: { case: "stringValue", value },
});
const int = (value: bigint): Value => ({
  $typeName: "prism.graph.v1.Value",
  kind: { case: "intValue", value },
});
const leaf = (i: number) => `leaf-${String(i).padStart(4, "0")}`;
const ringNode = (i: number) => `ring-${String(i % RING).padStart(2, "0")}`;
const ids = (nodes: (Node | undefined)[]) => nodes.map((node) => node!.id);

describe.each(BACKENDS)("graph on %s", (backend) => {
  const namespace = `graph-${backend}`;
  const call = { timeoutMs: 60_000 };

  beforeAll(async () => {
    const nodes = [
      { id: "hub", label: "hub", properties: { big: int(9_223_372_036_854_775_807n) } },
      ...Array.from({ length: LEAVES }, (_, i) => ({
        id: leaf(i),
        label: "leaf",
        properties: { n: int(BigInt(i)) },
      })),
      ...Array.from({ length: RING }, (_, i) => ({
        id: ringNode(i),
        label: "ring",
        properties: { name: str(`r${i}`) },
      })),
    ];
    for (let at = 0; at < nodes.length; at += 1000) {
      await graph.upsertNodes({ namespace, nodes: nodes.slice(at, at + 1000) }, call);
    }
    const edges = [
      ...Array.from({ length: LEAVES }, (_, i) => ({
        fromId: "hub",
        toId: leaf(i),
        label: "has",
        properties: {},
      })),
      // Each leaf points on to two others: two hops from the hub examine more than the budget.
      ...Array.from({ length: LEAVES }, (_, i) => ({
        fromId: leaf(i),
        toId: leaf((i + 1) % LEAVES),
        label: "next",
        properties: {},
      })),
      ...Array.from({ length: LEAVES }, (_, i) => ({
        fromId: leaf(i),
        toId: leaf((i + 7) % LEAVES),
        label: "skip",
        properties: {},
      })),
      ...Array.from({ length: RING }, (_, i) => ({
        fromId: ringNode(i),
        toId: ringNode(i + 1),
        label: "next",
        properties: {},
      })),
      { fromId: ringNode(0), toId: "hub", label: "sees", properties: {} },
    ];
    for (let at = 0; at < edges.length; at += 1000) {
      await graph.upsertEdges({ namespace, edges: edges.slice(at, at + 1000) }, call);
    }
  }, 180_000);

  it("gets nodes with typed properties and reports the missing ids", async () => {
    const { nodes, missingIds } = await graph.getNodes({ namespace, ids: ["hub", "nobody", leaf(3)] });
    expect(ids(nodes)).toEqual(["hub", leaf(3)]);
    expect(missingIds).toEqual(["nobody"]);
    expect(nodes[0]!.properties.big!.kind).toEqual({ case: "intValue", value: 9_223_372_036_854_775_807n });
  });

  it("pages the hub's 2,000 neighbors in a stable order", async () => {
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await graph.neighbors(
        { namespace, nodeId: "hub", edgeLabels: ["has"], pageSize: 300, pageToken },
        call,
      );
      seen.push(...page.neighbors.map((n) => n.node!.id));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken && pages < 50);
    expect(pages).toBeGreaterThanOrEqual(7);
    expect(seen).toEqual(Array.from({ length: LEAVES }, (_, i) => leaf(i)));
    const incoming = await graph.neighbors({ namespace, nodeId: "hub", direction: Direction.IN });
    expect(incoming.neighbors.map((n) => [n.edge!.fromId, n.edge!.label])).toEqual([[ringNode(0), "sees"]]);
  });

  it("traverses the ring breadth-first, each node once, and ends on the cycle", async () => {
    const steps = [];
    for await (const step of graph.traverse(
      { namespace, startId: ringNode(0), maxDepth: RING + 5, edgeLabels: ["next"] },
      call,
    )) {
      steps.push(...step.steps);
    }
    expect(steps.map((s) => [s.node!.id, s.depth])).toEqual(
      Array.from({ length: RING }, (_, i) => [ringNode(i), i]),
    );
    expect(steps[1]!.via).toMatchObject({ fromId: ringNode(0), toId: ringNode(1), label: "next" });
  });

  it("streams a large traversal in a few size-bounded messages, in order, each node once", async () => {
    const messages: number[] = [];
    const steps = [];
    for await (const message of graph.traverse(
      { namespace, startId: "hub", maxDepth: 1, limit: 10_000 },
      call,
    )) {
      messages.push(message.steps.length);
      steps.push(...message.steps);
    }
    expect(steps[0]).toMatchObject({ node: { id: "hub" }, depth: 0 });
    const reached = steps.slice(1).map((step) => step.node!.id);
    expect(new Set(reached).size).toBe(reached.length);
    expect(reached.filter((id) => id.startsWith("leaf-")).sort()).toEqual(
      Array.from({ length: LEAVES }, (_, i) => leaf(i)),
    );
    expect(steps.slice(1).every((step) => step.depth === 1 && step.via?.fromId === "hub")).toBe(true);
    // More than one message (each is bounded in bytes), far fewer than one per node.
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.length).toBeLessThan(steps.length / 100);
  });

  it("stops a traversal that would examine more edges than the namespace's budget", async () => {
    const failure = await rpcFailure(
      (async () => {
        const all = { namespace, startId: "hub", maxDepth: 2, limit: 10_000 };
        for await (const _ of graph.traverse(all, call)) {
          // drain
        }
      })(),
      status.RESOURCE_EXHAUSTED,
    );
    expect(failure.details.reason).toBe("TRAVERSAL_BUDGET_EXCEEDED");
    const oneHop = [];
    for await (const { steps } of graph.traverse(
      { namespace, startId: "hub", maxDepth: 1, limit: 10 },
      call,
    )) {
      oneHop.push(...steps);
    }
    expect(oneHop).toHaveLength(10);
  });

  it("finds a shortest path, and answers no path normally", async () => {
    const path = await graph.shortestPath(
      { namespace, fromId: ringNode(0), toId: leaf(14), maxDepth: 6 },
      call,
    );
    expect(path.found).toBe(true);
    // ring-00 -sees-> hub -has-> leaf-0014 is shorter than any way round through the leaves.
    expect(ids(path.nodes)).toEqual([ringNode(0), "hub", leaf(14)]);
    expect(path.edges.map((e) => e.label)).toEqual(["sees", "has"]);
    const none = await graph.shortestPath({ namespace, fromId: leaf(1), toId: "hub", maxDepth: 6 }, call);
    expect(none).toMatchObject({ found: false, nodes: [], edges: [] });
  });

  it("refuses an edge to a missing node, deletes a node with its edges, and deletes edges", async () => {
    const failure = await rpcFailure(
      graph.upsertEdges({
        namespace,
        edges: [
          { fromId: ringNode(1), toId: ringNode(5), label: "extra" },
          { fromId: ringNode(1), toId: "ghost", label: "extra" },
        ],
      }),
      status.FAILED_PRECONDITION,
    );
    expect(failure.details.reason).toBe("EDGE_ENDPOINT_MISSING");
    const after = await graph.neighbors({ namespace, nodeId: ringNode(1), edgeLabels: ["extra"] });
    expect(after.neighbors).toEqual([]);

    expect(
      (await graph.deleteEdges({ namespace, edges: [{ fromId: ringNode(0), toId: "hub", label: "sees" }] }))
        .deleted,
    ).toBe(1);
    expect((await graph.neighbors({ namespace, nodeId: "hub", direction: Direction.IN })).neighbors).toEqual(
      [],
    );
    expect((await graph.deleteNodes({ namespace, ids: [ringNode(2), "nobody"] })).deleted).toBe(1);
    const both = await graph.neighbors({ namespace, nodeId: ringNode(1), direction: Direction.BOTH });
    expect(both.neighbors.map((n) => n.node!.id)).toEqual([ringNode(0)]);
    const broken = await graph.shortestPath({
      namespace,
      fromId: ringNode(0),
      toId: ringNode(5),
      maxDepth: 10,
    });
    expect(broken.found).toBe(false);
  });

  it("refuses a traversal without max_depth, and a NaN property", async () => {
    const depth = await rpcFailure(
      (async () => {
        for await (const _ of graph.traverse({ namespace, startId: "hub" })) {
          // drain
        }
      })(),
      status.INVALID_ARGUMENT,
    );
    expect(depth.details.reason).toBe("INVALID_DEPTH");
    const nan = await rpcFailure(
      graph.upsertNodes({
        namespace,
        nodes: [
          { id: "x", label: "x", properties: { v: { kind: { case: "doubleValue", value: Number.NaN } } } },
        ],
      }),
      status.INVALID_ARGUMENT,
    );
    expect(nan.details.reason).toBe("INVALID_PROPERTY");
  });
});
