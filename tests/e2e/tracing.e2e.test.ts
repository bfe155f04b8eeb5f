import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { gunzipSync } from "node:zlib";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { createPromiseClient } from "@prism/proto/grpc";
import { Direction, GraphService } from "@prism/proto/prism/graph/v1/graph";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import { stackEndpoints } from "@prism/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/gateway-launch.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";

/**
 * OpenTelemetry traces end to end: gateways as processes exporting over OTLP/HTTP (JSON) to a
 * receiver in this test, driven over gRPC with a W3C `traceparent`. Each call's server span
 * continues the client's trace, each backend call is a child span with `db.system`, and no
 * attribute carries an id or value the client sent — on the memory backend and on PostgreSQL.
 * A gateway sampling at 0 exports only calls whose client sampled them (flushed at close), and
 * one with tracing left at its default exports nothing.
 */

/** A span as the receiver got it, attributes flattened. */
interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  status: { code?: number; message?: string };
}

const SERVER = 2;
const CLIENT = 3;
const STATUS_ERROR = 2;

/** An OTLP/HTTP trace receiver on loopback (what a collector would be), keeping every span. */
class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Every body received, decoded: what left the gateway, whole. */
  readonly bodies: string[] = [];
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.method !== "POST" || request.url !== "/v1/traces") {
        response.writeHead(404).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      const body = (request.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString();
      this.bodies.push(body);
      this.collect(JSON.parse(body));
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as { port: number };
    return `http://127.0.0.1:${port}/v1/traces`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  private collect(body: OtlpBody): void {
    for (const { resource, scopeSpans } of body.resourceSpans ?? []) {
      const service = String(flatten(resource?.attributes)["service.name"]);
      for (const { spans } of scopeSpans ?? []) {
        for (const span of spans ?? []) {
          this.spans.push({
            service,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? "",
            name: span.name,
            kind: span.kind,
            attributes: flatten(span.attributes),
            status: span.status ?? {},
          });
        }
      }
    }
  }
}

type OtlpAttribute = {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
};
interface OtlpBody {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: OtlpAttribute[];
        status?: { code?: number; message?: string };
      }[];
    }[];
  }[];
}

function flatten(attributes: OtlpAttribute[] = []): Record<string, string | number | boolean> {
  return Object.fromEntries(
    attributes.map(({ key, value }) => [
      key,
      value.stringValue ?? value.boolValue ?? value.doubleValue ?? Number(value.intValue),
    ]),
  );
}

/** A client span of a fresh trace, and the `traceparent` header that carries it. */
function clientSpan(sampled = true) {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, headers: { traceparent: `00-${traceId}-${spanId}-${sampled ? "01" : "00"}` } };
}

const SECRET = `secret-${randomBytes(4).toString("hex")}`;
const bytes = (text: string) => new TextEncoder().encode(text);
const run = randomBytes(3).toString("hex");
const BACKENDS = { mem: "prism.memory", pg: "postgresql" } as const;
const PATTERN_OF_PREFIX: Record<string, string> = { kv: "keyvalue", ts: "timeseries", graph: "graph" };

const receiver = new OtlpReceiver();
let endpoint: string;
let gateway: GatewayProcess;

beforeAll(async () => {
  endpoint = await receiver.start();
  gateway = await startGatewayProcess(
    {
      backends: {
        mem: { type: "memory" },
        pg: { type: "postgres", url: "env:PRISM_TEST_POSTGRES_URL", schema: `tre2e_${run}` },
      },
      namespaces: Object.keys(BACKENDS).flatMap((backend) => [
        { name: `kv-${backend}`, pattern: "keyvalue", backend },
        {
          name: `ts-${backend}`,
          pattern: "timeseries",
          backend,
          accept_window: { past: "2d", future: "1h" },
        },
        { name: `graph-${backend}`, pattern: "graph", backend },
      ]),
      tracing: { enabled: true, endpoint, samplingRatio: 1, serviceName: "prism-e2e" },
    },
    { env: { PRISM_TEST_POSTGRES_URL: stackEndpoints().postgresUrl, OTEL_BSP_SCHEDULE_DELAY: "50" } },
  );
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
  await receiver.close();
});

/**
 * Waits for the server span of `client`'s trace and its backend children (at least `children`),
 * and checks the tree: same trace, server span parented to the client's span, children to it.
 */
async function spanTree(client: { traceId: string; spanId: string }, method: string, children = 1) {
  const complete = () => {
    const spans = receiver.trace(client.traceId);
    const server = spans.find((span) => span.kind === SERVER);
    return server && spans.filter((span) => span.parentSpanId === server.spanId).length >= children;
  };
  await eventually(async () => Boolean(complete()), 10_000);
  const spans = receiver.trace(client.traceId);
  const server = spans.find((span) => span.kind === SERVER)!;
  expect(server.name).toBe(method);
  expect(server.parentSpanId).toBe(client.spanId);
  const backendCalls = spans.filter((span) => span.kind === CLIENT);
  for (const child of backendCalls) expect(child.parentSpanId).toBe(server.spanId);
  expect(JSON.stringify(spans)).not.toContain(SECRET);
  return { server, backendCalls };
}

describe.each(Object.entries(BACKENDS))("traces on %s", (backend, dbSystem) => {
  const expectCall = async (
    client: ReturnType<typeof clientSpan>,
    method: string,
    namespace: string,
    operation: string,
  ) => {
    const [service, name] = method.split("/") as [string, string];
    const { server, backendCalls } = await spanTree(client, method);
    expect(server.service).toBe("prism-e2e");
    expect(server.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": service,
      "rpc.method": name,
      "rpc.grpc.status_code": status.OK,
      "prism.namespace": namespace,
      "prism.pattern": PATTERN_OF_PREFIX[namespace.split("-")[0]!],
    });
    const call = backendCalls.find((span) => span.attributes["db.operation.name"] === operation);
    expect(call?.attributes).toMatchObject({
      "db.system": dbSystem,
      "db.system.name": dbSystem,
      "db.operation": operation,
      "db.namespace": namespace,
      "prism.backend": backend,
    });
  };

  it("KeyValue Put and Get", async () => {
    const kv = createPromiseClient(KeyValueService, { address: gateway.address });
    try {
      const namespace = `kv-${backend}`;
      const put = clientSpan();
      await kv.put(
        {
          namespace,
          id: `${SECRET}-id`,
          items: [{ key: bytes(`${SECRET}-key`), value: bytes(`${SECRET}-value`) }],
        },
        { headers: put.headers },
      );
      await expectCall(put, "prism.keyvalue.v1.KeyValueService/Put", namespace, "put");
      const get = clientSpan();
      const answer = await kv.get({ namespace, id: `${SECRET}-id` }, { headers: get.headers });
      expect(answer.items).toHaveLength(1);
      await expectCall(get, "prism.keyvalue.v1.KeyValueService/Get", namespace, "get");
    } finally {
      kv.close();
    }
  });

  it("TimeSeries Write and Read", async () => {
    const ts = createPromiseClient(TimeSeriesService, { address: gateway.address });
    try {
      const namespace = `ts-${backend}`;
      const now = Date.now();
      const write = clientSpan();
      await ts.write(
        {
          namespace,
          seriesId: `${SECRET}-series`,
          events: [
            {
              eventTime: timestampFromMs(now - 1000),
              eventId: `${SECRET}-event`,
              payload: bytes(`${SECRET}-payload`),
              tags: { [`${SECRET}-tag`]: `${SECRET}-tag-value` },
            },
          ],
        },
        { headers: write.headers },
      );
      await expectCall(write, "prism.timeseries.v1.TimeSeriesService/Write", namespace, "write");
      const read = clientSpan();
      const page = await ts.read(
        { namespace, seriesId: `${SECRET}-series`, start: timestampFromMs(now - 60_000) },
        { headers: read.headers },
      );
      expect(page.events).toHaveLength(1);
      await expectCall(read, "prism.timeseries.v1.TimeSeriesService/Read", namespace, "read");
    } finally {
      ts.close();
    }
  });

  it("Graph UpsertNodes and Neighbors", async () => {
    const graph = createPromiseClient(GraphService, { address: gateway.address });
    try {
      const namespace = `graph-${backend}`;
      const upsert = clientSpan();
      const node = (id: string) => ({
        id,
        label: "person",
        properties: { name: { kind: { case: "stringValue" as const, value: `${SECRET}-name` } } },
      });
      await graph.upsertNodes(
        { namespace, nodes: [node(`${SECRET}-a`), node(`${SECRET}-b`)] },
        { headers: upsert.headers },
      );
      await expectCall(upsert, "prism.graph.v1.GraphService/UpsertNodes", namespace, "upsertNodes");
      await graph.upsertEdges({
        namespace,
        edges: [{ fromId: `${SECRET}-a`, toId: `${SECRET}-b`, label: "knows" }],
      });
      const neighbors = clientSpan();
      const answer = await graph.neighbors(
        { namespace, nodeId: `${SECRET}-a`, direction: Direction.OUT },
        { headers: neighbors.headers },
      );
      expect(answer.neighbors).toHaveLength(1);
      await expectCall(neighbors, "prism.graph.v1.GraphService/Neighbors", namespace, "neighbors");
    } finally {
      graph.close();
    }
  });
});

describe("server spans", () => {
  it("of a stream end when the stream ends, after its backend calls", async () => {
    const kv = createPromiseClient(KeyValueService, { address: gateway.address });
    try {
      const scan = clientSpan();
      const rows = [];
      for await (const message of kv.scan({ namespace: "kv-mem" }, { headers: scan.headers }))
        rows.push(message);
      expect(rows.length).toBeGreaterThan(0);
      const { server, backendCalls } = await spanTree(scan, "prism.keyvalue.v1.KeyValueService/Scan");
      expect(backendCalls.map((span) => span.attributes["db.operation"])).toContain("scan");
      expect(server.attributes["rpc.grpc.status_code"]).toBe(status.OK);
    } finally {
      kv.close();
    }
  });

  it("of a failed call carry its code and reason, never its message", async () => {
    const kv = createPromiseClient(KeyValueService, { address: gateway.address });
    try {
      const failed = clientSpan();
      const missing = `${SECRET}-namespace`;
      const failure = await rpcFailure(kv.get({ namespace: missing, id: "x" }, { headers: failed.headers }));
      expect(failure.code).toBe(status.NOT_FOUND);
      const { server, backendCalls } = await spanTree(failed, "prism.keyvalue.v1.KeyValueService/Get", 0);
      expect(backendCalls).toEqual([]);
      expect(server.status).toEqual({ code: STATUS_ERROR, message: "NAMESPACE_NOT_FOUND" });
      expect(server.attributes).toMatchObject({
        "rpc.grpc.status_code": status.NOT_FOUND,
        "prism.error.reason": "NAMESPACE_NOT_FOUND",
      });
      expect(server.attributes["prism.namespace"]).toBeUndefined();
    } finally {
      kv.close();
    }
  });

  it("leave nothing the clients sent in any exported byte", () => {
    expect(receiver.bodies.length).toBeGreaterThan(0);
    for (const body of receiver.bodies) expect(body).not.toContain(SECRET);
  });
});

describe("sampling", () => {
  it("at ratio 0 exports only calls whose client sampled them, flushed when the gateway stops", async () => {
    const zero = await startGatewayProcess({
      backends: { mem: { type: "memory" } },
      namespaces: [{ name: "kv", pattern: "keyvalue", backend: "mem" }],
      tracing: { enabled: true, endpoint, samplingRatio: 0, serviceName: "prism-e2e-zero" },
    });
    const kv = createPromiseClient(KeyValueService, { address: zero.address });
    const sampled = clientSpan();
    const unsampled = clientSpan(false);
    try {
      for (let i = 0; i < 20; i++)
        await kv.put({ namespace: "kv", id: `plain-${i}`, items: [{ key: bytes(""), value: bytes("v") }] });
      await kv.put(
        { namespace: "kv", id: "unsampled", items: [{ key: bytes(""), value: bytes("v") }] },
        { headers: unsampled.headers },
      );
      await kv.put(
        { namespace: "kv", id: "sampled", items: [{ key: bytes(""), value: bytes("v") }] },
        { headers: sampled.headers },
      );
    } finally {
      kv.close();
      // The batch processor waits 5 s by default: these spans arrive only if close flushes them.
      expect(await zero.stop()).toBe(0);
      removeDataDir(zero.dataDir);
    }
    const exported = receiver.spans.filter((span) => span.service === "prism-e2e-zero");
    expect(new Set(exported.map((span) => span.traceId))).toEqual(new Set([sampled.traceId]));
    const server = exported.find((span) => span.kind === SERVER);
    expect(server?.parentSpanId).toBe(sampled.spanId);
    expect(exported.some((span) => span.kind === CLIENT && span.parentSpanId === server?.spanId)).toBe(true);
  }, 60_000);

  it("is off by default: nothing is exported", async () => {
    const off = await startGatewayProcess(
      {
        backends: { mem: { type: "memory" } },
        namespaces: [{ name: "kv", pattern: "keyvalue", backend: "mem" }],
        tracing: { endpoint, serviceName: "prism-e2e-off" },
      },
      { env: { OTEL_BSP_SCHEDULE_DELAY: "50" } },
    );
    const kv = createPromiseClient(KeyValueService, { address: off.address });
    const client = clientSpan();
    try {
      await kv.put(
        { namespace: "kv", id: "a", items: [{ key: bytes(""), value: bytes("v") }] },
        { headers: client.headers },
      );
      await kv.get({ namespace: "kv", id: "a" }, { headers: client.headers });
    } finally {
      kv.close();
      expect(await off.stop()).toBe(0);
      removeDataDir(off.dataDir);
    }
    expect(receiver.spans.filter((span) => span.service === "prism-e2e-off")).toEqual([]);
    expect(receiver.trace(client.traceId)).toEqual([]);
    expect(off.output()).not.toContain("tracing on");
  }, 60_000);
});
