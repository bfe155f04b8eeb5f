import { type ServiceError, status } from "@grpc/grpc-js";
import { createPromiseClient, errorDetails } from "@prism/proto/grpc";
import { Health, HealthCheckResponse_ServingStatus } from "@prism/proto/grpc/health/v1/health";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";

/**
 * Load shedding through the gateway process, under real overload: callers moving large values
 * keep its event loop busy (each 2 MiB value is copied, chunked and framed on the one thread)
 * while a probe watches. Bulk calls (Scan) are refused with RESOURCE_EXHAUSTED (OVERLOADED) and a
 * retry delay; health checks and admin calls are answered throughout; once the load stops, Scan
 * is served again — no restart, no stuck state.
 */
let gateway: GatewayProcess;
let kv: ReturnType<typeof createPromiseClient<typeof KeyValueService.method>>;
let health: ReturnType<typeof createPromiseClient<typeof Health.method>>;
let admin: ReturnType<typeof createPromiseClient<typeof AdminService.method>>;

beforeAll(async () => {
  gateway = await startGatewayProcess({
    backends: { mem: { type: "memory" } },
    namespaces: [
      { name: "heavy", pattern: "keyvalue", backend: "mem" },
      { name: "light", pattern: "keyvalue", backend: "mem" },
    ],
    // A low bar, so the overload a test can make on a shared machine crosses it.
    overload: { shedLagMs: 30, sampleMs: 100 },
  });
  kv = createPromiseClient(KeyValueService, { address: gateway.address });
  health = createPromiseClient(Health, { address: gateway.address });
  admin = createPromiseClient(AdminService, { address: gateway.address });
  // A gateway just started on a busy machine may already lag past this low bar: retry.
  for (let attempt = 0; ; attempt++) {
    const put = kv.put({ namespace: "light", id: "one", items: [{ key: b("k"), value: b("v") }] });
    if (
      await put.then(
        () => true,
        () => attempt > 50,
      )
    )
      break;
    await new Promise((done) => setTimeout(done, 200));
  }
}, 60_000);

afterAll(async () => {
  for (const client of [kv, health, admin]) client?.close();
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

/** Scans `light` once: "ok", or the refusal's gRPC error. */
async function scanOnce(): Promise<"ok" | ServiceError> {
  try {
    for await (const _ of kv.scan({ namespace: "light" }));
    return "ok";
  } catch (error) {
    return error as ServiceError;
  }
}

describe("load shedding", () => {
  it("refuses bulk calls while the event loop lags, keeps health and admin, and recovers", async () => {
    const value = b("x".repeat(2 << 20));
    let loading = true;
    const loader = async (worker: number) => {
      for (let i = 0; loading; i++) {
        const id = `big-${worker}-${i % 4}`;
        // Refusals are expected once shedding covers every data call; the load goes on.
        await kv.put({ namespace: "heavy", id, items: [{ key: b("k"), value }] }).catch(() => {});
        await kv.get({ namespace: "heavy", id }).catch(() => {});
      }
    };
    const load = Promise.all(Array.from({ length: 12 }, (_, worker) => loader(worker)));

    const refusals: ServiceError[] = [];
    let healthChecks = 0;
    let adminCalls = 0;
    const until = Date.now() + 30_000;
    try {
      while (refusals.length === 0 && Date.now() < until) {
        const [scan, check, namespaces] = await Promise.all([
          scanOnce(),
          health.check({ service: "" }),
          admin.listNamespaces({}),
        ]);
        expect(check.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
        expect(namespaces.namespaces.map((n) => n.name)).toContain("light");
        healthChecks++;
        adminCalls++;
        if (scan !== "ok") refusals.push(scan);
        await new Promise((done) => setTimeout(done, 50));
      }
    } finally {
      loading = false;
      await load;
    }

    expect(refusals.length, "no Scan was shed within 30 s of overload").toBeGreaterThanOrEqual(1);
    for (const refusal of refusals) {
      expect(refusal.code).toBe(status.RESOURCE_EXHAUSTED);
      const details = errorDetails(refusal);
      expect(details.reason).toBe("OVERLOADED");
      expect(details.retryAfterMs).toBeGreaterThan(0);
    }
    expect(healthChecks).toBeGreaterThan(0);
    expect(adminCalls).toBe(healthChecks);

    // The load is gone: within a few samples Scan is served again.
    const recovered = Date.now() + 10_000;
    let scan = await scanOnce();
    while (scan !== "ok" && Date.now() < recovered) {
      await new Promise((done) => setTimeout(done, 100));
      scan = await scanOnce();
    }
    expect(scan).toBe("ok");
  }, 90_000);
});
