import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type ServiceError, status } from "@grpc/grpc-js";
import { createPromiseClient, errorDetails, type PromiseClient } from "@prism/proto/grpc";
import { AdminService, CircuitState, HealthStatus } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { isHealthy, type ServerName, stackEndpoints, startServer, stopServer } from "@prism/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b, s } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { type CallOutcome, clientVisibleText, DRIVER_TEXT, eventually, settle } from "./outage-probes.js";

/**
 * "A backend that goes away": one gateway process serves a memory namespace and a namespace on a
 * real server of the local stack. The server is stopped (gracefully, then by a crash) under the
 * gateway's feet; calls to its namespace must fail fast with UNAVAILABLE and no driver text, the
 * memory namespace must not notice, the admin API must report the backend down, and once the
 * server is back the same gateway process must serve the old data again. Repeated failures open
 * the backend's circuit breaker, and a successful call after recovery closes it.
 *
 * These tests stop shared servers, so they run in their own sequential phase, and they always
 * bring the server back (healthy) before they finish, pass or fail.
 */
const run = randomBytes(3).toString("hex");
/** The client deadline of every call made while the server is down. */
const DEADLINE_MS = 3_000;
/** How long a recovered server may take to serve the gateway's calls again. */
const RECOVERY_MS = 30_000;

const OUTAGES: readonly { server: ServerName; backend: string; options: Record<string, unknown> }[] = [
  {
    server: "postgres",
    backend: "pg",
    options: { type: "postgres", url: "env:PRISM_TEST_POSTGRES_URL", schema: `faults_${run}` },
  },
  {
    server: "nats",
    backend: "nats",
    // A JetStream request during the server's recovery waits out the request timeout: keep it
    // below the calls' deadline, so the answer is UNAVAILABLE rather than DEADLINE_EXCEEDED.
    options: {
      type: "nats",
      url: "env:PRISM_TEST_NATS_URL",
      bucketPrefix: `faults${run}`,
      requestTimeoutMs: 1_000,
    },
  },
];
const MEMORY_NAMESPACE = "faults-memory";

type KvClient = PromiseClient<typeof KeyValueService.method> & { close(): void };
type AdminClient = PromiseClient<typeof AdminService.method> & { close(): void };

/** Starts `server` unless it answers, and waits until it does: every test leaves the stack whole. */
async function restore(server: ServerName): Promise<void> {
  if (!(await isHealthy(server))) await startServer(server);
  await eventually(async () => {
    if (!(await isHealthy(server))) throw new Error(`${server} is not healthy after a restart`);
  }, RECOVERY_MS);
}

/** Asserts a call failed fast with UNAVAILABLE, named the backend, and leaked no driver text. */
function expectFailedFast(outcome: CallOutcome<unknown>, backend: string, what: string): void {
  expect(outcome.error, `${what} should have failed`).toBeDefined();
  const error = outcome.error as ServiceError;
  expect(error.code, `${what}: ${error.message}`).toBe(status.UNAVAILABLE);
  const details = errorDetails(error);
  expect(details.reason, what).toBe("BACKEND_UNAVAILABLE");
  expect(details.domain, what).toBe("prism.dev");
  expect(details.metadata.backend, what).toBe(backend);
  expect(clientVisibleText(error), what).not.toMatch(DRIVER_TEXT);
  // UNAVAILABLE, not DEADLINE_EXCEEDED: the answer came before the deadline.
  expect(outcome.elapsedMs, what).toBeLessThan(DEADLINE_MS);
}

describe.each(OUTAGES)("when $server goes away", ({ server, backend, options }) => {
  const namespace = `faults-${server}`;
  let gateway: GatewayProcess | undefined;
  let kv: KvClient;
  let admin: AdminClient;

  const put = (ns: string, id: string, value: string) =>
    kv.put({ namespace: ns, id, items: [{ key: b("k"), value: b(value) }] }, { timeoutMs: DEADLINE_MS });
  const get = async (ns: string, id: string) =>
    (await kv.get({ namespace: ns, id }, { timeoutMs: DEADLINE_MS })).items.map((i) => s(i.value));
  const healthOf = async () =>
    Object.fromEntries(
      (await admin.listBackends({}, { timeoutMs: DEADLINE_MS })).backends.map((x) => [x.name, x]),
    );

  beforeAll(async () => {
    await restore(server);
    const { postgresUrl, natsUrl } = stackEndpoints();
    gateway = await startGatewayProcess(
      {
        backends: { mem: { type: "memory" }, [backend]: options },
        namespaces: [
          { name: MEMORY_NAMESPACE, pattern: "keyvalue", backend: "mem" },
          { name: namespace, pattern: "keyvalue", backend },
        ],
      },
      { env: { PRISM_TEST_POSTGRES_URL: postgresUrl, PRISM_TEST_NATS_URL: natsUrl } },
    );
    kv = createPromiseClient(KeyValueService, { address: gateway.address });
    admin = createPromiseClient(AdminService, { address: gateway.address });
  }, 60_000);

  afterAll(async () => {
    try {
      kv?.close();
      admin?.close();
      await gateway?.stop("SIGKILL");
      if (gateway) removeDataDir(gateway.dataDir);
    } finally {
      await restore(server);
    }
  }, 90_000);

  it("serves the namespace before the outage", async () => {
    await put(namespace, "before", "written before any outage");
    expect(await get(namespace, "before")).toEqual(["written before any outage"]);
    const health = await healthOf();
    expect(health[backend]?.health).toBe(HealthStatus.SERVING);
    expect(health.mem?.health).toBe(HealthStatus.SERVING);
  });

  it.each([
    { how: "stopped", crash: false },
    { how: "crashed", crash: true },
  ])(
    "fails fast while $how, keeps other namespaces serving, and recovers without a gateway restart",
    async ({ how, crash }) => {
      const id = `kept-${how}`;
      // Eventually: when an earlier test failed mid-outage, the gateway may still be reconnecting.
      await eventually(() => put(namespace, id, `written before ${how}`), RECOVERY_MS);
      // The stack's PostgreSQL runs with synchronous_commit=off: a commit reaches the WAL within
      // 3 × wal_writer_delay (600 ms). A crash may lose younger commits; that is the server's
      // setting, not the gateway's doing, so let the write settle before crashing.
      if (crash) await sleep(1_000);

      // Traffic in flight while the server goes away: each call succeeds or fails UNAVAILABLE
      // before its deadline; none hangs, none is INTERNAL.
      let stopping = true;
      const inFlight: CallOutcome<unknown>[] = [];
      const traffic = (async () => {
        for (let i = 0; stopping; i++) {
          inFlight.push(await settle(() => put(namespace, `during-${how}-${i % 5}`, "v")));
          await sleep(5);
        }
      })();
      try {
        await sleep(100);
        await stopServer(server, { crash });
        expect(await isHealthy(server)).toBe(false);
        await sleep(200);
        stopping = false;
        await traffic;
        for (const [i, outcome] of inFlight.entries()) {
          if (outcome.error) expectFailedFast(outcome, backend, `in-flight put #${i}`);
        }
        expect(inFlight.at(-1)?.error, "the last in-flight put, after the stop").toBeDefined();

        const calls = await Promise.all([
          settle(() => get(namespace, id)),
          settle(() => get(namespace, "never-written")),
          settle(() => put(namespace, id, "written during the outage")),
          settle(() => put(namespace, "new-during-outage", "v")),
        ]);
        for (const [i, outcome] of calls.entries()) {
          expectFailedFast(outcome, backend, `call #${i} during the outage`);
        }
        // Repeated calls keep failing fast (no slow path once the failure is known).
        for (let i = 0; i < 3; i++) {
          expectFailedFast(await settle(() => get(namespace, id)), backend, `repeated get #${i}`);
        }

        await put(MEMORY_NAMESPACE, `mem-${how}`, "memory keeps working");
        expect(await get(MEMORY_NAMESPACE, `mem-${how}`)).toEqual(["memory keeps working"]);

        const down = await healthOf();
        expect(down[backend]?.health).toBe(HealthStatus.NOT_SERVING);
        expect(down[backend]?.healthMessage).not.toMatch(DRIVER_TEXT);
        expect(down.mem?.health).toBe(HealthStatus.SERVING);
        // Repeated failures opened the backend's circuit: later calls never wait on the driver.
        expect(down[backend]?.circuit).not.toBe(CircuitState.CLOSED);
        expect(down.mem?.circuit).toBe(CircuitState.CLOSED);
      } finally {
        stopping = false;
        await traffic;
        await restore(server);
      }

      // The same gateway process recovers by itself.
      const recoveryErrors: ServiceError[] = [];
      const retried = <T>(call: () => Promise<T>) =>
        eventually(
          () =>
            call().catch((error: ServiceError) => {
              recoveryErrors.push(error);
              throw error;
            }),
          RECOVERY_MS,
        );
      await retried(() => put(namespace, `after-${how}`, "written after recovery"));
      expect(await retried(() => get(namespace, `after-${how}`))).toEqual(["written after recovery"]);
      expect(await get(namespace, id)).toEqual([`written before ${how}`]);
      expect(await get(namespace, "before")).toEqual(["written before any outage"]);
      expect(recoveryErrors.map((e) => e.code).filter((code) => code !== status.UNAVAILABLE)).toEqual([]);

      const up = await healthOf();
      expect(up[backend]?.health).toBe(HealthStatus.SERVING);
      expect(up.mem?.health).toBe(HealthStatus.SERVING);
      expect(up[backend]?.circuit).toBe(CircuitState.CLOSED);
    },
    120_000,
  );

  it("is still alive after the outages and stops cleanly on SIGTERM", async () => {
    const running = gateway as GatewayProcess;
    expect(running.child.exitCode).toBeNull();
    await put(MEMORY_NAMESPACE, "last", "still serving");
    expect(await get(MEMORY_NAMESPACE, "last")).toEqual(["still serving"]);
    const before = await eventually(() => get(namespace, "before"), RECOVERY_MS);
    expect(before).toEqual(["written before any outage"]);
    // The connection URL (with its password) never reaches the gateway's log.
    expect(running.output()).not.toContain(stackEndpoints().postgresUrl);
    expect(running.output()).not.toContain("prism:prism");
    expect(await running.stop("SIGTERM")).toBe(0);
  });
});
