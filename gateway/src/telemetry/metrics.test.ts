import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, PrismError } from "@prism/core";
import { memoryDriver } from "@prism/memory";
import pino from "pino";
import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../config/load-config.js";
import { DRIVERS } from "../drivers.js";
import { type BackendCall, type BackendCallHooks, combineHooks, instrumented } from "./instrumented.js";
import { LATENCY_BUCKETS, LatencyHistogram } from "./instruments.js";
import { GatewayMetrics } from "./metrics.js";
import { serveMetrics } from "./metrics-server.js";
import { RequestMetrics } from "./request-metrics.js";

const silent = pino({ level: "silent" });

/** `name{labels} value` lines of an exposition, as [series, value] (comments left out). */
function series(text: string): Map<string, number> {
  const lines = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
  return new Map(
    lines.map((line) => {
      const at = line.lastIndexOf(" ");
      return [line.slice(0, at), Number(line.slice(at + 1))];
    }),
  );
}

const KV_GET = { service: { name: "KeyValueService" }, method: { name: "Get" } };

describe("LatencyHistogram", () => {
  it("puts a value equal to a bound in that bucket and renders cumulative buckets", () => {
    const histogram = new LatencyHistogram();
    for (const seconds of [0.0001, 0.00011, 0.003, 99]) histogram.observe(seconds);
    const samples = histogram.samples("x", { a: "1" });
    const buckets = samples.filter((s) => s.metricName === "x_bucket");
    expect(buckets.map((s) => s.labels.le)).toEqual([...LATENCY_BUCKETS.map(String), "+Inf"]);
    const at = (le: string) => buckets.find((s) => s.labels.le === le)!.value;
    expect([at("0.0001"), at("0.00025"), at("0.0025"), at("0.005"), at("10"), at("+Inf")]).toEqual([
      1, 2, 2, 3, 3, 4,
    ]);
    expect(samples.find((s) => s.metricName === "x_count")!.value).toBe(4);
    expect(samples.find((s) => s.metricName === "x_sum")!.value).toBeCloseTo(99.00321, 6);
  });
});

describe("RequestMetrics", () => {
  it("counts calls by namespace, method and code, errors by reason, rate limits by namespace", async () => {
    const registry = new Registry();
    const requests = new RequestMetrics(registry);
    const get = requests.method(KV_GET);
    get.record("demo", undefined, 0.0002);
    get.record("demo", undefined, 0.002);
    get.record("demo", new PrismError("NotFound", "gone"), 0.001);
    get.record("", new PrismError("NotFound", "no namespace", { reason: "NAMESPACE_NOT_FOUND" }), 0.0001);
    get.record(
      "limited",
      new PrismError("ResourceExhausted", "slow down", { reason: "RATE_LIMITED" }),
      0.0001,
    );
    get.record("demo", new Error("driver exploded with secret text"), 0.01);
    const text = await registry.metrics();
    const lines = series(text);

    expect(lines.get('prism_requests_total{namespace="demo",method="KeyValueService/Get",code="OK"}')).toBe(
      2,
    );
    expect(
      lines.get('prism_requests_total{namespace="demo",method="KeyValueService/Get",code="NOT_FOUND"}'),
    ).toBe(1);
    expect(
      lines.get('prism_requests_total{namespace="demo",method="KeyValueService/Get",code="INTERNAL"}'),
    ).toBe(1);
    expect(
      lines.get('prism_requests_total{namespace="",method="KeyValueService/Get",code="NOT_FOUND"}'),
    ).toBe(1);
    expect(
      lines.get(
        'prism_request_errors_total{namespace="",method="KeyValueService/Get",code="NOT_FOUND",reason="NAMESPACE_NOT_FOUND"}',
      ),
    ).toBe(1);
    expect(
      lines.get(
        'prism_request_errors_total{namespace="demo",method="KeyValueService/Get",code="INTERNAL",reason="INTERNAL"}',
      ),
    ).toBe(1);
    expect(lines.get('prism_rate_limited_total{namespace="limited"}')).toBe(1);
    expect(
      lines.get('prism_request_duration_seconds_count{namespace="demo",method="KeyValueService/Get"}'),
    ).toBe(4);
    expect(
      lines.get(
        'prism_request_duration_seconds_bucket{namespace="demo",method="KeyValueService/Get",le="0.00025"}',
      ),
    ).toBe(1);
    expect(text).toContain("# TYPE prism_request_duration_seconds histogram");
    expect(text).not.toContain("secret");
  });
});

describe("instrumented", () => {
  async function memory(): Promise<Backend> {
    return memoryDriver.open({ name: "mem", options: {}, dataDir: tmpdir() });
  }

  it("reports every pattern call, with its outcome, and passes results and capabilities through", async () => {
    const ended: [string, unknown][] = [];
    const base = await memory();
    const backend = instrumented(base, {
      onStart: (call: BackendCall) => call.operation,
      onEnd: (call, started, error) => {
        expect(started).toBe(call.operation);
        expect(call).toMatchObject({ backend: "mem", type: "memory" });
        ended.push([`${call.pattern}.${call.operation}`, error]);
      },
    });
    expect(backend.keyvalue!.capabilities).toEqual(base.keyvalue!.capabilities);
    const kv = backend.keyvalue!;
    await kv.put("ns", "a", [{ key: new Uint8Array(), value: new Uint8Array([1]) }], {});
    const got = await kv.get("ns", "a", { kind: "all" }, { limitItems: 10, limitBytes: 1000 });
    expect(got.items).toHaveLength(1);
    const aborted = AbortSignal.abort();
    await expect(
      kv.get("ns", "a", { kind: "all" }, { limitItems: 10, limitBytes: 1000, signal: aborted }),
    ).rejects.toThrow();
    await backend.graph!.upsertNodes("g", [{ id: "n", label: "l", properties: {} }], {});
    expect(ended.map(([name, error]) => [name, error === undefined])).toEqual([
      ["keyvalue.put", true],
      ["keyvalue.get", true],
      ["keyvalue.get", false],
      ["graph.upsertNodes", true],
    ]);
  });

  it("reports a tail from its first read until its reader stops", async () => {
    const calls: string[] = [];
    const backend = instrumented(await memory(), {
      onStart: (call) => calls.push(`start ${call.operation} ${call.streaming}`),
      onEnd: (call) => calls.push(`end ${call.operation}`),
    });
    const ts = backend.timeseries!;
    const settings = { retentionMs: 86_400_000, acceptPastMs: 86_400_000, acceptFutureMs: 3_600_000 };
    const now = BigInt(Date.now()) * 1000n;
    await ts.write("t", "s", [{ eventId: "e", eventTimeUs: now, payload: new Uint8Array(), tags: {} }], {
      settings,
    });
    const controller = new AbortController();
    for await (const batch of ts.tail("t", "s", {
      settings,
      startUs: 0n,
      tagFilter: {},
      signal: controller.signal,
    })) {
      expect(batch).toHaveLength(1);
      break;
    }
    expect(calls).toEqual(["start write false", "end write", "start tail true", "end tail"]);
  });

  it("combines hooks into one layer: started in order, ended in reverse, none after a refusal", async () => {
    const seen: string[] = [];
    const tag = (name: string, refuse = false): BackendCallHooks<string> => ({
      onStart: (call) => {
        if (refuse && call.operation === "delete") throw new Error(`${name} refused`);
        seen.push(`start ${name}`);
        return name;
      },
      onEnd: (_call, started) => {
        seen.push(`end ${started}`);
      },
    });
    expect(combineHooks([undefined, undefined])).toBeUndefined();
    const backend = await memoryDriver.open({ name: "mem", options: {}, dataDir: tmpdir() });
    const hooks = combineHooks([tag("breaker", true), undefined, tag("spans"), tag("timing")])!;
    const layered = instrumented(backend, hooks);
    await layered.keyvalue!.put("ns", "id", [{ key: new Uint8Array(), value: new Uint8Array([1]) }], {});
    expect(seen).toEqual([
      "start breaker",
      "start spans",
      "start timing",
      "end timing",
      "end spans",
      "end breaker",
    ]);
    seen.length = 0;
    await expect(layered.keyvalue!.delete("ns", "id", { kind: "all" }, {})).rejects.toThrow(
      "breaker refused",
    );
    expect(seen).toEqual([]);
    await backend.close();
  });
});

describe("GatewayMetrics and its endpoint", () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it("serves GET /metrics with backend, call and process series; other paths, methods and bodies are refused", async () => {
    const backend = await memoryDriver.open({ name: "mem", options: {}, dataDir: tmpdir() });
    closers.push(() => backend.close());
    const metrics = new GatewayMetrics(new Map([["mem", backend]]), silent);
    const timed = metrics.instrument(backend);
    await timed.keyvalue!.get("ns", "secret-id", { kind: "all" }, { limitItems: 1, limitBytes: 1 });
    metrics.backends.observeBackendCall("mem", "keyvalue", "scan", 0.003, false);

    const server = (await serveMetrics("127.0.0.1:0", metrics, silent))!;
    closers.push(() => server.close());
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.address).not.toBe("127.0.0.1:0");
    const url = `http://${server.address}`;

    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const lines = series(text);
    expect(lines.get('prism_backend_up{backend="mem",type="memory"}')).toBe(1);
    expect(
      lines.get('prism_backend_health_latency_seconds{backend="mem",type="memory"}'),
    ).toBeGreaterThanOrEqual(0);
    expect(
      lines.get(
        'prism_backend_call_duration_seconds_count{backend="mem",pattern="keyvalue",operation="get"}',
      ),
    ).toBe(1);
    expect(
      lines.get('prism_backend_call_errors_total{backend="mem",pattern="keyvalue",operation="scan"}'),
    ).toBe(1);
    for (const name of [
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
      "process_resident_memory_bytes",
    ]) {
      expect(text).toContain(`# TYPE ${name} gauge`);
    }
    expect(text).not.toContain("secret-id");

    expect((await fetch(`${url}/metrics?x=1`)).status).toBe(200);
    expect((await fetch(`${url}/`)).status).toBe(404);
    expect((await fetch(`${url}/metricsx`)).status).toBe(404);
    const post = await fetch(`${url}/metrics`, { method: "POST" });
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET"]);
    // fetch refuses a GET with a body: send one by hand.
    expect(
      await rawStatus(server.address, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
    ).toBe(400);
  });

  it("serves on without metrics when the port is taken", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise((resolve) => taken.close(resolve)));
    const { port } = taken.address() as { port: number };
    const errors: string[] = [];
    const logger = pino({ level: "error" }, { write: (line: string) => errors.push(line) });
    const metrics = new GatewayMetrics(new Map(), silent);
    expect(await serveMetrics(`127.0.0.1:${port}`, metrics, logger)).toBeUndefined();
    expect(errors.join("")).toContain("metrics endpoint could not be bound");
  });
});

/** The status code of a hand-written HTTP/1.1 request. */
async function rawStatus(address: string, request: string): Promise<number> {
  const { connect } = await import("node:net");
  const [host, port] = [
    address.slice(0, address.lastIndexOf(":")),
    Number(address.slice(address.lastIndexOf(":") + 1)),
  ];
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () => socket.write(request));
    let data = "";
    socket.on("data", (chunk) => {
      data += chunk.toString();
      const match = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (match) {
        socket.destroy();
        resolve(Number(match[1]));
      }
    });
    socket.on("error", reject);
  });
}

describe("metrics config", () => {
  function problemsOf(yaml: string, env: Record<string, string> = {}): string[] {
    const file = join(mkdtempSync(join(tmpdir(), "prism-metrics-config-")), "gateway.yaml");
    writeFileSync(file, yaml);
    try {
      loadConfig({ file, env }, DRIVERS);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  }
  const BASE = "backends: { mem: { type: memory } }\n";

  it("serves on 127.0.0.1:9464 by default, PRISM_METRICS_ADDR overriding", () => {
    expect(loadConfig({ env: {} }, DRIVERS).metrics).toEqual({ enabled: true, listen: "127.0.0.1:9464" });
    const file = join(mkdtempSync(join(tmpdir(), "prism-metrics-config-")), "gateway.yaml");
    writeFileSync(file, `${BASE}metrics: { enabled: true }\n`);
    expect(loadConfig({ file, env: { PRISM_METRICS_ADDR: "127.0.0.1:0" } }, DRIVERS).metrics.listen).toBe(
      "127.0.0.1:0",
    );
  });

  it("refuses a non-loopback metrics listener without authentication", () => {
    expect(problemsOf(`${BASE}metrics: { listen: "0.0.0.0:9464" }\n`)).toEqual([
      "metrics.listen: 0.0.0.0:9464 is not a loopback address; refusing to serve metrics on it without authentication (set auth.mode)",
    ]);
    expect(problemsOf(BASE, { PRISM_METRICS_ADDR: "[::]:9464" })).toHaveLength(1);
    expect(problemsOf(`${BASE}metrics: { listen: "[::1]:9464" }\n`)).toEqual([]);
    expect(problemsOf(`${BASE}metrics: { listen: "0.0.0.0:9464", enabled: false }\n`)).toEqual([]);
    const oidc = "auth: { mode: oidc, oidc: { issuer: https://issuer.example, audience: prism } }\n";
    expect(problemsOf(`${BASE}${oidc}metrics: { listen: "0.0.0.0:9464" }\n`)).toEqual([]);
    expect(problemsOf(`${BASE}metrics: { listen: "9464" }\n`)[0]).toMatch(
      /^metrics\.listen: must be host:port/,
    );
  });
});
