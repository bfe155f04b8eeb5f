import { status } from "@grpc/grpc-js";
import { createPromiseClient } from "@prism/proto/grpc";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startBackendMatrix } from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";

/**
 * Overload through the gateway process: a namespace over its rate and one over its concurrency
 * limit answer RESOURCE_EXHAUSTED with a retry delay (google.rpc.RetryInfo and `retry-after-ms`),
 * while a namespace without limits on the same gateway is served throughout.
 */
let gateway: GatewayProcess;
let kv: ReturnType<typeof createPromiseClient<typeof KeyValueService.method>>;

beforeAll(async () => {
  gateway = await startBackendMatrix("overload", {
    namespaces: [
      { name: "metered", pattern: "keyvalue", backend: "mem", limits: { rps: 3 } },
      // On PostgreSQL: each Put waits for the server, so calls overlap in the gateway.
      { name: "narrow", pattern: "keyvalue", backend: "pg", limits: { concurrency: 2 } },
      { name: "open", pattern: "keyvalue", backend: "mem" },
    ],
  });
  kv = createPromiseClient(KeyValueService, { address: gateway.address });
});
afterAll(async () => {
  kv?.close();
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

describe("overload", () => {
  it("refuses calls over a namespace's rate with the delay until it has room", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => kv.get({ namespace: "metered", id: `id-${i}` })),
    );
    expect(results.filter((r) => r.status === "fulfilled").length).toBeLessThanOrEqual(4);
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    const failure = await rpcFailure(Promise.reject(refused.reason), status.RESOURCE_EXHAUSTED);
    expect(failure.details.reason).toBe("RATE_LIMITED");
    expect(failure.details.retryAfterMs).toBeGreaterThan(0);
    expect(failure.details.retryAfterMs).toBeLessThanOrEqual(1000);
    expect(Number(refused.reason.metadata.get("retry-after-ms")[0])).toBeGreaterThan(0);
    // Another namespace on the same gateway does not notice.
    await kv.get({ namespace: "open", id: "x" });
  });

  it("refuses calls beyond a namespace's calls in progress, and frees the slots when they end", async () => {
    const value = b("x".repeat(64 << 10));
    const results = await Promise.allSettled(
      Array.from({ length: 24 }, (_, i) =>
        kv.put({ namespace: "narrow", id: `big-${i}`, items: [{ key: b(""), value }] }),
      ),
    );
    const refusals = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(refusals.length).toBeGreaterThan(0);
    expect(results.some((r) => r.status === "fulfilled")).toBe(true);
    for (const refusal of refusals) {
      const failure = await rpcFailure(Promise.reject(refusal.reason), status.RESOURCE_EXHAUSTED);
      expect(failure.details.reason).toBe("CONCURRENCY_LIMITED");
      expect(failure.details.retryAfterMs).toBeGreaterThan(0);
    }
    // Every slot came back: calls one at a time are all served.
    for (let i = 0; i < 5; i++)
      await kv.put({ namespace: "narrow", id: `small-${i}`, items: [{ key: b(""), value: b("v") }] });
  });
});
