import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { type Backend, type GraphBackend, isPrismError, type NeighborsOptions } from "@prism/core";
import { freshNamespace, graphConformance } from "@prism/core/conformance";
import gremlin from "gremlin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { neptuneDriver, readNeptuneOptions } from "./index.js";

const url = process.env.PRISM_TEST_GREMLIN_URL ?? "ws://127.0.0.1:18182/gremlin";
// A prefix of this run's own: its vertices and edges are removed afterwards, and a stale graph
// left by an earlier run is never seen.
const prefix = `t${randomBytes(4).toString("hex")}`;
const all: NeighborsOptions = { direction: "both", edgeLabels: [], limit: 1000 };

/** Opens the backend on the test server, failing (never skipping) with a hint when it is down. */
async function openNeptune(options: Record<string, unknown> = {}): Promise<Backend> {
  const backend = await neptuneDriver.open({
    name: "neptune-test",
    options: { url, prefix, ...options },
    dataDir: tmpdir(),
  });
  const report = await backend.health(AbortSignal.timeout(10_000));
  if (!report.ok) {
    await backend.close();
    throw new Error(
      `Gremlin Server is not reachable at ${url} (${report.message}). Run \`pnpm stack up\`, ` +
        "or point PRISM_TEST_GREMLIN_URL at a Gremlin server.",
    );
  }
  return backend;
}

afterAll(async () => {
  // Everything this run wrote: vertices carry the prefix as their label (edges go with them).
  // A ws-specific option (headers): on Node 22+ the driver would otherwise pick the global WebSocket, which it cannot drive (gremlin-link.ts).
  const connection = new gremlin.driver.DriverRemoteConnection(url, { headers: {} });
  try {
    const g = gremlin.process.AnonymousTraversalSource.traversal().withRemote(connection);
    await g.V().hasLabel(prefix).drop().iterate();
  } finally {
    await connection.close().catch(() => undefined);
  }
});

it("reaches the Gremlin test server", async () => {
  const backend = await openNeptune();
  try {
    const report = await backend.health(AbortSignal.timeout(5000));
    expect(report.ok).toBe(true);
  } finally {
    await backend.close();
  }
});

graphConformance({ name: "neptune (Gremlin Server, GraphBinary)", open: () => openNeptune() });

describe("neptune on Gremlin Server", () => {
  let backend: Backend;
  let graph: GraphBackend;
  beforeAll(async () => {
    backend = await openNeptune();
    graph = backend.graph as GraphBackend;
  });
  afterAll(async () => backend?.close());

  it("keeps namespaces apart even when one's name starts another's", async () => {
    const ns = freshNamespace();
    const longer = `${ns}-x`;
    await graph.upsertNodes(ns, [{ id: "a", label: "n", properties: { v: "short" } }], {});
    await graph.upsertNodes(longer, [{ id: "a", label: "n", properties: { v: "long" } }], {});
    await graph.upsertNodes(ns, [{ id: "x:a", label: "n", properties: {} }], {});
    expect((await graph.getNodes(ns, ["a"], {}))[0]?.properties).toEqual({ v: "short" });
    expect((await graph.getNodes(longer, ["a"], {}))[0]?.properties).toEqual({ v: "long" });
    expect((await graph.getNodes(longer, ["x:a"], {})).length).toBe(0);
    expect(await graph.deleteNodes(longer, ["a"], {})).toBe(1);
    expect((await graph.getNodes(ns, ["a"], {})).length).toBe(1);
  });

  it("stores ids, labels and property names with quotes, Groovy and Gremlin syntax as plain data", async () => {
    const ns = freshNamespace();
    const tricky = [
      `it's "quoted"`,
      "'); g.V().drop(); ('",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Groovy GString, which must stay plain data
      "${System.exit(0)}",
      "a\\b\\\\c",
      `["json","look",":"]`,
      "prism:other-ns:a",
      "😀 \uFFFD \u00e9",
    ];
    await graph.upsertNodes(
      ns,
      tricky.map((id) => ({ id, label: id, properties: { [id]: id } })),
      {},
    );
    await graph.upsertEdges(
      ns,
      tricky.map((id, i) => ({
        fromId: id,
        toId: tricky[(i + 1) % tricky.length] as string,
        label: id,
        properties: {},
      })),
      {},
    );
    const nodes = await graph.getNodes(ns, tricky, {});
    expect(nodes.map((n) => [n.id, n.label, n.properties])).toEqual(
      tricky.map((id) => [id, id, { [id]: id }]),
    );
    for (const id of tricky) {
      const { neighbors } = await graph.neighbors(ns, id, all);
      expect(neighbors.map((n) => n.node.id).sort()).toEqual(
        [
          tricky[(tricky.indexOf(id) + 1) % tricky.length],
          tricky[(tricky.indexOf(id) + tricky.length - 1) % tricky.length],
        ].sort(),
      );
    }
    const steps = await graph.traverse(ns, tricky[0] as string, {
      direction: "out",
      maxDepth: 10,
      edgeLabels: [],
      nodeLabels: [],
      limit: 100,
      visitBudget: 100,
    });
    expect(steps.map((s) => s.node.id)).toEqual(tricky);
    // The graph is still there: nothing was evaluated.
    expect((await graph.getNodes(ns, tricky, {})).length).toBe(tricky.length);
  });

  it("answers Unavailable quickly and reports unhealthy without throwing when the server is unreachable", async () => {
    const down = await neptuneDriver.open({
      name: "neptune-down",
      options: { url: "ws://127.0.0.1:1/gremlin", connectTimeoutMs: 500 },
      dataDir: tmpdir(),
    });
    try {
      const failure = await graph
        .getNodes("x", ["a"], {})
        .then(() => undefined)
        .catch((error: unknown) => error);
      expect(failure).toBeUndefined();
      const error = await down.graph
        ?.getNodes("x", ["a"], {})
        .then(() => undefined)
        .catch((e: unknown) => e);
      expect(isPrismError(error, "Unavailable")).toBe(true);
      // Again: a failed connection is replaced, not cached forever.
      const again = await down.graph
        ?.neighbors("x", "a", all)
        .then(() => undefined)
        .catch((e: unknown) => e);
      expect(isPrismError(again, "Unavailable")).toBe(true);
      const report = await down.health(AbortSignal.timeout(5000));
      expect(report.ok).toBe(false);
      expect(report.message).toBe("backend neptune-down is unavailable");
    } finally {
      await down.close();
    }
  });

  it("round-trips typed properties over GraphSON 3 as over GraphBinary", async () => {
    const json = await openNeptune({ serializer: "graphson3" });
    try {
      const ns = freshNamespace();
      const properties = {
        big: 2n ** 63n - 1n,
        neg: -0,
        d: 0.1,
        huge: 1e308,
        b: new Uint8Array([0, 255]),
        s: "x",
      };
      await json.graph?.upsertNodes(ns, [{ id: "a", label: "n", properties }], {});
      const [viaJson] = (await json.graph?.getNodes(ns, ["a"], {})) ?? [];
      const [viaBinary] = await graph.getNodes(ns, ["a"], {});
      expect(viaJson?.properties).toEqual(properties);
      expect(viaBinary?.properties).toEqual(properties);
      expect(Object.is(viaJson?.properties.neg, -0)).toBe(true);
    } finally {
      await json.close();
    }
  });

  it("rejects a call whose signal fires while it waits for the server", async () => {
    const ns = freshNamespace();
    await graph.upsertNodes(ns, [{ id: "a", label: "n", properties: {} }], {});
    const controller = new AbortController();
    const pending = graph.getNodes(ns, ["a"], { signal: controller.signal });
    controller.abort();
    const error = await pending.then(() => undefined).catch((e: unknown) => e);
    expect(isPrismError(error, "Cancelled")).toBe(true);
  });
});

describe("neptune options", () => {
  it("lists every problem, refuses IAM auth as not supported yet and never quotes the URL", () => {
    const { problems } = readNeptuneOptions({
      url: "http://user:secret@host",
      prefix: "bad_prefix",
      serializer: "gryo",
      iamAuth: { region: "eu-west-1" },
      typo: 1,
    });
    expect(problems).toEqual([
      expect.stringMatching(/^typo: unknown option/),
      "url: must be a ws:// or wss:// URL, or env:/file:",
      "prefix: must be a letter then up to 31 of A-Z, a-z and 0-9",
      "serializer: must be one of graphbinary, graphson3",
      "iamAuth: IAM (SigV4) authentication is not supported yet; see ADR 0015",
    ]);
    expect(problems.join(" ")).not.toContain("secret");
  });

  it("accepts wss:// and env:/file: URLs", () => {
    for (const value of [
      "wss://db.cluster-x.eu-west-1.neptune.amazonaws.com:8182/gremlin",
      "env:X",
      "file:/run/url",
    ]) {
      expect(readNeptuneOptions({ url: value }).problems).toEqual([]);
    }
  });
});
