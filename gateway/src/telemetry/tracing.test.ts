import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Metadata } from "@grpc/grpc-js";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { type Backend, PrismError } from "@prism/core";
import { memoryDriver } from "@prism/memory";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { gatewayConfigSchema } from "../config/gateway-config.js";
import { ANONYMOUS, type EndHook, type RequestContext } from "../context.js";
import { createLogger } from "../log.js";
import { compose, type MethodInfo, type Next } from "../pipeline/pipeline.js";
import type { ResolvedNamespace } from "../registry/resolved-namespace.js";
import { startTracing, type Tracing } from "./tracing.js";

const logger = createLogger("silent");
const exporter = new InMemorySpanExporter();
let draw = 0.5;
let tracing: Tracing;
let backend: Backend;

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const SECRET_ID = "user-4711@example.com";
const SECRET_VALUE = "s3cr3t-value";

const getInfo: MethodInfo = {
  service: KeyValueService,
  method: KeyValueService.method.get,
  path: "prism.keyvalue.v1.KeyValueService/Get",
  pattern: "keyvalue",
  access: "read",
};
const tailInfo: MethodInfo = {
  service: TimeSeriesService,
  method: TimeSeriesService.method.tail,
  path: "prism.timeseries.v1.TimeSeriesService/Tail",
  pattern: "timeseries",
  access: "read",
};
const tsSettings = { retentionMs: 86_400_000, acceptPastMs: 86_400_000, acceptFutureMs: 3_600_000 };

beforeAll(async () => {
  const settings = gatewayConfigSchema.shape.tracing.parse({ enabled: true, samplingRatio: 0.01 });
  tracing = startTracing(settings, logger, {
    processor: new SimpleSpanProcessor(exporter),
    random: () => draw,
  });
  backend = tracing.traceBackend(await memoryDriver.open({ name: "mem", options: {}, dataDir: "." }));
});

afterAll(async () => {
  await backend.close();
  await tracing.shutdown(1000);
});

beforeEach(() => {
  exporter.reset();
  draw = 0.5;
});

/** A call's context as the server makes it; `end` runs the end hooks, latest first. */
function callOf(headers: Record<string, string> = {}): RequestContext & { end(error?: unknown): void } {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  const hooks: EndHook[] = [];
  return {
    method: getInfo.path,
    metadata,
    signal: new AbortController().signal,
    deadline: Number.POSITIVE_INFINITY,
    principal: ANONYMOUS,
    logger,
    namespace: { spec: { name: "demo-kv" } } as ResolvedNamespace,
    onEnd: (hook) => hooks.push(hook),
    end(error?: unknown) {
      for (const hook of hooks.reverse()) hook(this, error);
    },
  };
}

/** Runs `handler` behind the tracing steps as the server would, then ends the call. */
async function serve(
  ctx: ReturnType<typeof callOf>,
  handler: Next,
  info: MethodInfo = getInfo,
): Promise<unknown> {
  const chain = compose([tracing.serverSpans, tracing.callSignals], handler, info);
  try {
    const result = await chain({}, ctx);
    ctx.end();
    return result;
  } catch (error) {
    ctx.end(error);
    throw error;
  }
}

/** A handler's backend calls, each with the call's signal (as every service passes it). */
const kvPutGet: Next = async (_, { signal }) => {
  const kv = backend.keyvalue!;
  const value = new TextEncoder().encode(SECRET_VALUE);
  await kv.put("demo-kv", SECRET_ID, [{ key: new TextEncoder().encode("k"), value }], { signal });
  return kv.get("demo-kv", SECRET_ID, { kind: "all" }, { limitItems: 10, limitBytes: 1 << 20, signal });
};

const traceparent = (flags: string) => ({ traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-${flags}` });
const spans = () => exporter.getFinishedSpans();
const serverSpan = () => spans().find((span) => span.kind === SpanKind.SERVER)!;
const backendSpans = () => spans().filter((span) => span.kind === SpanKind.CLIENT);

describe("server span", () => {
  it("continues a sampled traceparent, whatever the sampling ratio", async () => {
    await serve(callOf({ ...traceparent("01"), tracestate: "vendor=1" }), kvPutGet);
    const server = serverSpan();
    expect(server.name).toBe("prism.keyvalue.v1.KeyValueService/Get");
    expect(server.spanContext().traceId).toBe(TRACE_ID);
    expect(server.parentSpanContext?.spanId).toBe(CLIENT_SPAN);
    expect(server.parentSpanContext?.isRemote).toBe(true);
    expect(server.spanContext().traceState?.get("vendor")).toBe("1");
    expect(server.attributes).toEqual({
      "rpc.system": "grpc",
      "rpc.service": "prism.keyvalue.v1.KeyValueService",
      "rpc.method": "Get",
      "rpc.grpc.status_code": 0,
      "prism.pattern": "keyvalue",
      "prism.namespace": "demo-kv",
    });
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("makes each backend call a child span with db.system and no ids or values", async () => {
    await serve(callOf(traceparent("01")), kvPutGet);
    const server = serverSpan();
    const children = backendSpans();
    expect(children.map((span) => span.name)).toEqual(["put demo-kv", "get demo-kv"]);
    for (const child of children) {
      expect(child.spanContext().traceId).toBe(TRACE_ID);
      expect(child.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    }
    expect(children[1]!.attributes).toEqual({
      "db.system.name": "prism.memory",
      "db.system": "prism.memory",
      "db.operation.name": "get",
      "db.operation": "get",
      "db.namespace": "demo-kv",
      "prism.backend": "mem",
      "prism.pattern": "keyvalue",
    });
    const exported = JSON.stringify(spans().map((span) => [span.name, span.attributes, span.events]));
    expect(exported).not.toContain(SECRET_ID);
    expect(exported).not.toContain(SECRET_VALUE);
  });

  it("samples calls without a traceparent at the ratio, and leaves unsampled ones as they were", async () => {
    let signal: AbortSignal | undefined;
    const probe: Next = async (request, ctx) => {
      signal = ctx.signal;
      return kvPutGet(request, ctx);
    };
    draw = 0.5;
    const unsampled = callOf();
    const shared = unsampled.signal;
    await serve(unsampled, probe);
    expect(spans()).toEqual([]);
    expect(signal).toBe(shared);

    draw = 0.001;
    await serve(callOf(), probe);
    expect(serverSpan().parentSpanContext).toBeUndefined();
    expect(backendSpans()).toHaveLength(2);
    expect(signal).not.toBe(shared);
  });

  it("tells overlapping calls that share a deadline signal apart", async () => {
    const deadline = new AbortController().signal;
    const a = callOf({ traceparent: `00-${"a".repeat(32)}-${CLIENT_SPAN}-01` });
    const b = callOf(traceparent("01"));
    a.signal = deadline;
    b.signal = deadline;
    let releaseB!: () => void;
    const bHeld = new Promise<void>((resolve) => {
      releaseB = resolve;
    });
    const callB = serve(b, async (request, ctx) => {
      await bHeld;
      return kvPutGet(request, ctx);
    });
    await serve(a, kvPutGet);
    releaseB();
    await callB;
    const servers = spans().filter((span) => span.kind === SpanKind.SERVER);
    expect(servers).toHaveLength(2);
    for (const server of servers) {
      const children = backendSpans().filter(
        (span) => span.parentSpanContext?.spanId === server.spanContext().spanId,
      );
      expect(children.map((span) => span.name)).toEqual(["put demo-kv", "get demo-kv"]);
    }
  });

  it("honours an unsampled traceparent and starts a new trace for a malformed one", async () => {
    draw = 0.001;
    await serve(callOf(traceparent("00")), kvPutGet);
    expect(spans()).toEqual([]);

    await serve(callOf({ traceparent: "00-nonsense" }), kvPutGet);
    const server = serverSpan();
    expect(server.parentSpanContext).toBeUndefined();
    expect(server.spanContext().traceId).not.toBe(TRACE_ID);
  });

  it("records a failure's code and reason, never its message", async () => {
    const failing: Next = async () => {
      throw new PrismError("NotFound", `node ${SECRET_ID} does not exist`, { reason: "NODE_NOT_FOUND" });
    };
    await expect(serve(callOf(traceparent("01")), failing)).rejects.toThrow();
    const server = serverSpan();
    expect(server.status).toEqual({ code: SpanStatusCode.ERROR, message: "NODE_NOT_FOUND" });
    expect(server.attributes).toMatchObject({
      "rpc.grpc.status_code": 5,
      "error.type": "NOT_FOUND",
      "prism.error.reason": "NODE_NOT_FOUND",
    });
    expect(JSON.stringify([server.attributes, server.status, server.events])).not.toContain(SECRET_ID);

    exporter.reset();
    await expect(
      serve(callOf(traceparent("01")), async () => Promise.reject(new Error("boom"))),
    ).rejects.toThrow();
    expect(serverSpan().attributes).toMatchObject({
      "rpc.grpc.status_code": 13,
      "prism.error.reason": "INTERNAL",
    });
  });

  it("ends a stream's span when the stream ends, after its backend tail span", async () => {
    const ts = backend.timeseries!;
    const event = {
      eventTimeUs: BigInt(Date.now()) * 1000n,
      eventId: "e1",
      payload: new Uint8Array(),
      tags: {},
    };
    const streaming: Next = async (_, { signal }) => {
      await ts.write("demo-ts", "series", [event], { settings: tsSettings, signal });
      const tail = ts.tail("demo-ts", "series", { settings: tsSettings, startUs: 0n, tagFilter: {}, signal });
      for await (const batch of tail) {
        expect(spans()).toEqual([expect.objectContaining({ name: "write demo-ts" })]);
        if (batch.length > 0) break;
      }
    };
    await serve(callOf(traceparent("01")), streaming, tailInfo);
    expect(spans().map((span) => span.name)).toEqual([
      "write demo-ts",
      "tail demo-ts",
      "prism.timeseries.v1.TimeSeriesService/Tail",
    ]);
    const [, tail, server] = spans() as [ReadableSpan, ReadableSpan, ReadableSpan];
    expect(tail.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(tail.attributes["db.operation.name"]).toBe("tail");
  });
});

describe("backend spans", () => {
  it("are not made outside a sampled call (sweeps, retention)", async () => {
    await kvPutGet({}, callOf());
    expect(spans()).toEqual([]);
  });

  it("mark a failed backend call with its kind and reason", async () => {
    const read: Next = async (_, { signal }) =>
      backend
        .graph!.getNodes("demo-graph", ["a"], { signal: AbortSignal.abort() })
        .finally(() => backend.graph!.getNodes("demo-graph", ["a"], { signal }));
    await expect(serve(callOf(traceparent("01")), read)).rejects.toThrow();
    // The first call carried a signal of its own (no span); the second the call's.
    const [child] = backendSpans();
    expect(backendSpans()).toHaveLength(1);
    expect(child?.name).toBe("getNodes demo-graph");

    exporter.reset();
    const aborted: Next = async (_, ctx) => {
      const pending = backend.graph!.getNodes("demo-graph", ["a"], { signal: ctx.signal });
      return pending;
    };
    const ctx = callOf(traceparent("01"));
    const deadline = new AbortController();
    deadline.abort(new DOMException("deadline exceeded", "TimeoutError"));
    ctx.signal = deadline.signal;
    await expect(serve(ctx, aborted)).rejects.toMatchObject({ kind: "DeadlineExceeded" });
    const [failed] = backendSpans();
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes).toMatchObject({
      "error.type": "DeadlineExceeded",
      "prism.error.reason": "DEADLINE_EXCEEDED",
    });
  });

  it("follow the call's deadline through the call's own signal", async () => {
    const deadline = new AbortController();
    let seen: AbortSignal | undefined;
    const ctx = callOf(traceparent("01"));
    ctx.signal = deadline.signal;
    await serve(ctx, async (_, { signal }) => {
      seen = signal;
      deadline.abort(new DOMException("deadline exceeded", "TimeoutError"));
    });
    expect(seen).not.toBe(deadline.signal);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toMatchObject({ name: "TimeoutError" });
  });
});

describe("with tracing off", () => {
  const repo = resolve(import.meta.dirname, "../../..");
  /** The OpenTelemetry modules a gateway process has loaded once started (the API alone excluded: prom-client asks for it). */
  const sdkModulesLoaded = async (enabled: boolean): Promise<string[]> => {
    const script = `
      import { createRequire } from "node:module";
      import { gatewayConfigSchema, startGateway } from "@prism/gateway";
      const config = gatewayConfigSchema.parse({
        listen: { grpc: "127.0.0.1:0" },
        dataDir: process.argv[1],
        logLevel: "silent",
        backends: { mem: { type: "memory" } },
        namespaces: [{ name: "kv", pattern: "keyvalue", backend: "mem" }],
        tracing: { enabled: process.argv[2] === "on" },
      });
      const gateway = await startGateway({ config });
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter(
        (file) => file.includes("@opentelemetry") && !file.includes("@opentelemetry/api/"),
      );
      await gateway.close();
      process.stdout.write(JSON.stringify(loaded));
    `;
    const dataDir = mkdtempSync(join(tmpdir(), "prism-tracing-off-"));
    try {
      const { stdout } = await promisify(execFile)(
        resolve(repo, "node_modules/.bin/tsx"),
        ["--input-type=module", "-e", script, dataDir, enabled ? "on" : "off"],
        { cwd: resolve(repo, "gateway") },
      );
      return JSON.parse(stdout) as string[];
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };

  it("loads no module of the OpenTelemetry SDK (and does when on)", async () => {
    expect(await sdkModulesLoaded(false)).toEqual([]);
    expect((await sdkModulesLoaded(true)).some((file) => file.includes("sdk-trace"))).toBe(true);
  }, 60_000);
});
