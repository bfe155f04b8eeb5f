import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { findGrpcurl, grpcurl } from "../support/grpcurl.js";

/**
 * Server reflection with the real grpcurl and no local .proto files: everything grpcurl knows
 * (services, messages, imported types, error details) must come from the gateway.
 */
const KV = "prism.keyvalue.v1.KeyValueService";
/** grpcurl exits with 64 + the gRPC status code when a call fails. */
const CALL_FAILED = 64;
const NOT_FOUND = 5;

let gateway: GatewayProcess;
/** Looked up per call, so a missing grpcurl fails every test with the install hint instead of skipping. */
const run = (command: string[], options?: Parameters<typeof grpcurl>[3]) =>
  grpcurl(findGrpcurl(), gateway.address, command, options);

beforeAll(async () => {
  gateway = await startGatewayProcess({
    backends: { local: { type: "sqlite", path: "reflection.db" } },
    namespaces: [{ name: "demo-kv", pattern: "keyvalue", backend: "local" }],
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

describe("grpcurl against the gateway, reflection only", () => {
  it("lists every served service", async () => {
    const { code, stdout, stderr } = await run(["list"]);
    expect(code, stderr).toBe(0);
    expect(stdout.trim().split("\n").sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "prism.admin.v1.AdminService",
      "prism.graph.v1.GraphService",
      KV,
      "prism.timeseries.v1.TimeSeriesService",
    ]);
    const methods = await run(["list", KV]);
    expect(methods.stdout.trim().split("\n")).toEqual(
      ["Delete", "Get", "Mutate", "Put", "Scan"].map((method) => `${KV}.${method}`),
    );
  });

  it("describes services and messages, including types from imported files", async () => {
    const service = await run(["describe", KV]);
    expect(service.code, service.stderr).toBe(0);
    expect(service.stdout).toContain(`${KV} is a service:`);
    expect(service.stdout).toContain(
      "rpc Put ( .prism.keyvalue.v1.PutRequest ) returns ( .prism.keyvalue.v1.PutResponse );",
    );
    expect(service.stdout).toContain("returns ( stream .prism.keyvalue.v1.ScanResponse );");

    const put = await run(["describe", "prism.keyvalue.v1.PutRequest"]);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toMatch(/repeated \.prism\.keyvalue\.v1\.Item items = \d+;/);
    expect(put.stdout).toMatch(/\.prism\.common\.v1\.IdempotencyToken idempotency_token = \d+;/);

    // The imported file (and its own import, google/protobuf/timestamp.proto) resolves too.
    const token = await run(["describe", "prism.common.v1.IdempotencyToken"]);
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toMatch(/\.google\.protobuf\.Timestamp generation_time = \d+;/);

    const admin = await run(["describe", "prism.admin.v1.Namespace"]);
    expect(admin.code, admin.stderr).toBe(0);
    expect(admin.stdout).toContain(".prism.options.v1.Pattern pattern");

    const template = await run(["describe", "prism.keyvalue.v1.GetRequest"], { flags: ["-msg-template"] });
    expect(template.stdout).toContain('"pageSizeBytes": 0');
  });

  it("describes methods, enums, nested types and well-known types by symbol", async () => {
    const method = await run(["describe", `${KV}.Put`]);
    expect(method.code, method.stderr).toBe(0);
    expect(method.stdout).toContain(`${KV}.Put is a method:`);
    const pattern = await run(["describe", "prism.options.v1.Pattern"]);
    expect(pattern.code, pattern.stderr).toBe(0);
    expect(pattern.stdout).toContain("prism.options.v1.Pattern is an enum:");
    const nested = await run(["describe", "grpc.health.v1.HealthCheckResponse.ServingStatus"]);
    expect(nested.code, nested.stderr).toBe(0);
    expect(nested.stdout).toContain("SERVING = 1;");
    const duration = await run(["describe", "google.protobuf.Duration"]);
    expect(duration.code, duration.stderr).toBe(0);
    expect(duration.stdout).toContain("google.protobuf.Duration is a message:");
  });

  it("reports a symbol the server does not know as not found", async () => {
    const { code, stderr } = await run(["describe", "no.such.Symbol"]);
    expect(code).not.toBe(0);
    expect(stderr).toContain("no.such.Symbol");
    expect(stderr.toLowerCase()).toContain("not found");
  });

  it("puts and gets a value with JSON requests (bytes as base64)", async () => {
    const value = Buffer.from("hello from grpcurl").toString("base64");
    const put = await run([`${KV}/Put`], {
      data: { namespace: "demo-kv", id: "grpcurl-1", items: [{ key: "", value }] },
    });
    expect(put.code, put.stderr).toBe(0);
    // A request without an idempotency token (grpcurl sends none) is still served.
    expect(JSON.parse(put.stdout)).toEqual({});

    const get = await run([`${KV}/Get`], { data: { namespace: "demo-kv", id: "grpcurl-1" } });
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout)).toEqual({ items: [{ value }] });

    const scan = await run([`${KV}/Scan`], { data: { namespace: "demo-kv" } });
    expect(scan.code, scan.stderr).toBe(0);
    expect(scan.stdout).toContain('"id": "grpcurl-1"');
  });

  it("shows a failed call's status code name and decodes its ErrorInfo", async () => {
    const { code, stderr } = await run([`${KV}/Get`], { data: { namespace: "no-such-namespace", id: "x" } });
    expect(code).toBe(CALL_FAILED + NOT_FOUND);
    expect(stderr).toContain("Code: NotFound");
    expect(stderr).toContain('namespace "no-such-namespace" does not exist');
    // The detail types come from reflection too, so grpcurl prints them instead of raw bytes.
    expect(stderr).toContain('"@type": "type.googleapis.com/google.rpc.ErrorInfo"');
    expect(stderr).toContain('"reason": "NAMESPACE_NOT_FOUND"');
    expect(stderr).not.toContain("is not recognized");

    const invalid = await run([`${KV}/Put`], { data: { namespace: "demo-kv", id: "x", items: [] } });
    expect(invalid.stderr).toContain("Code: InvalidArgument");
    expect(invalid.stderr).toContain('"reason": "ITEMS_REQUIRED"');
  });

  it("serves grpc.health.v1.Health", async () => {
    const whole = await run(["grpc.health.v1.Health/Check"]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(JSON.parse(whole.stdout)).toEqual({ status: "SERVING" });
    const kv = await run(["grpc.health.v1.Health/Check"], { data: { service: KV } });
    expect(JSON.parse(kv.stdout)).toEqual({ status: "SERVING" });
    const unknown = await run(["grpc.health.v1.Health/Check"], { data: { service: "no.such.Service" } });
    expect(JSON.parse(unknown.stdout)).toEqual({ status: "SERVICE_UNKNOWN" });
  });

  it("calls AdminService the same way", async () => {
    const { code, stdout, stderr } = await run(["prism.admin.v1.AdminService/ListNamespaces"]);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout).namespaces).toContainEqual(
      expect.objectContaining({
        name: "demo-kv",
        pattern: "PATTERN_KEYVALUE",
        source: "NAMESPACE_SOURCE_CONFIG",
      }),
    );
  });
});
