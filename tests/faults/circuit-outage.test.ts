import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceError } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { createPromiseClient, errorDetails } from "@prism/proto/grpc";
import { AdminService, CircuitState } from "@prism/proto/prism/admin/v1/admin";
import { GraphService } from "@prism/proto/prism/graph/v1/graph";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import { isHealthy, type ServerName, startServer, stopServer } from "@prism/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b, s } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startBackendMatrix } from "../support/gateway-process.js";
import { clientVisibleText, DRIVER_TEXT, eventually, settle } from "./outage-probes.js";

/**
 * The circuit breaker when Kafka or the Gremlin Server goes away under a gateway: calls to its
 * namespace fail (within their deadline) until the circuit opens, then fail at once with
 * UNAVAILABLE; ListBackends shows the circuit open; a memory namespace does not notice; once the
 * server is back, a probe closes the circuit and the same gateway serves the old data again.
 * (PostgreSQL and NATS outages: backend-outage.test.ts.)
 */
const DEADLINE_MS = 3_000;
const RECOVERY_MS = 90_000;
/** An open circuit answers without trying the backend: far below any driver timeout. */
const FAST_MS = 250;

let gateway: GatewayProcess;
let admin: ReturnType<typeof createPromiseClient<typeof AdminService.method>>;
let kv: ReturnType<typeof createPromiseClient<typeof KeyValueService.method>>;
let ts: ReturnType<typeof createPromiseClient<typeof TimeSeriesService.method>>;
let graph: ReturnType<typeof createPromiseClient<typeof GraphService.method>>;

beforeAll(async () => {
  for (const server of ["kafka", "gremlin"] as const)
    if (!(await isHealthy(server))) await startServer(server);
  gateway = await startBackendMatrix("circuit", {
    namespaces: [
      { name: "circuit-ts", pattern: "timeseries", backend: "kafka" },
      { name: "circuit-graph", pattern: "graph", backend: "neptune" },
      { name: "circuit-mem", pattern: "keyvalue", backend: "mem" },
    ],
    circuitBreaker: { failureThreshold: 3, openMs: 2000 },
  });
  admin = createPromiseClient(AdminService, { address: gateway.address });
  kv = createPromiseClient(KeyValueService, { address: gateway.address });
  ts = createPromiseClient(TimeSeriesService, { address: gateway.address });
  graph = createPromiseClient(GraphService, { address: gateway.address });
}, 120_000);

afterAll(async () => {
  for (const client of [admin, kv, ts, graph]) client?.close();
  await gateway?.stop("SIGKILL");
  if (gateway) removeDataDir(gateway.dataDir);
  for (const server of ["kafka", "gremlin"] as const)
    if (!(await isHealthy(server))) await startServer(server);
}, 120_000);

let sequence = 0;
const OUTAGES: readonly {
  server: ServerName;
  backend: string;
  /** Killed, or stopped cleanly: TinkerGraph (the Neptune stand-in) saves its graph only on a clean stop. */
  crash: boolean;
  write: (id: string) => Promise<unknown>;
  read: (id: string) => Promise<boolean>;
}[] = [
  {
    server: "kafka",
    backend: "kafka",
    crash: true,
    write: (id) =>
      ts.write(
        {
          namespace: "circuit-ts",
          seriesId: "s",
          events: [
            { eventTime: timestampFromMs(Date.now()), eventId: `${id}-${sequence++}`, payload: b(id) },
          ],
        },
        { timeoutMs: DEADLINE_MS },
      ),
    read: async (id) => {
      const { events } = await ts.read(
        {
          namespace: "circuit-ts",
          seriesId: "s",
          start: timestampFromMs(Date.now() - 3_600_000),
          end: timestampFromMs(Date.now() + 60_000),
        },
        { timeoutMs: DEADLINE_MS },
      );
      return events.some((event) => s(event.payload) === id);
    },
  },
  {
    server: "gremlin",
    backend: "neptune",
    crash: false,
    write: (id) =>
      graph.upsertNodes(
        { namespace: "circuit-graph", nodes: [{ id, label: "thing" }] },
        { timeoutMs: DEADLINE_MS },
      ),
    read: async (id) => {
      const { nodes } = await graph.getNodes(
        { namespace: "circuit-graph", ids: [id] },
        { timeoutMs: DEADLINE_MS },
      );
      return nodes.some((node) => node.id === id);
    },
  },
];

const circuitOf = async (backend: string) =>
  (await admin.listBackends({}, { timeoutMs: DEADLINE_MS })).backends.find((x) => x.name === backend)
    ?.circuit;

describe.each(OUTAGES)("when $server goes away", ({ server, backend, crash, write, read }) => {
  it("opens the circuit, fails fast, spares other namespaces, and closes again once it is back", async () => {
    await eventually(() => write("before"), RECOVERY_MS, 500);
    expect(await read("before")).toBe(true);
    expect(await circuitOf(backend)).toBe(CircuitState.CLOSED);
    try {
      await stopServer(server, { crash });
      // Failures (each within its deadline, never INTERNAL) until the circuit opens.
      for (let i = 0; i < 20 && (await circuitOf(backend)) !== CircuitState.OPEN; i++) {
        const outcome = await settle(() => write(`during-${i}`));
        if (outcome.error) {
          expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]).toContain(outcome.error.code);
          expect(clientVisibleText(outcome.error)).not.toMatch(DRIVER_TEXT);
        }
      }
      expect(await circuitOf(backend)).toBe(CircuitState.OPEN);
      const refused = await settle(() => write("refused"));
      expect(refused.error?.code).toBe(status.UNAVAILABLE);
      expect(refused.elapsedMs).toBeLessThan(FAST_MS);
      const details = errorDetails(refused.error as ServiceError);
      expect(details.reason).toBe("BACKEND_UNAVAILABLE");
      expect(details.metadata).toMatchObject({ backend, circuit: "open" });
      // Another backend's namespace keeps serving.
      await kv.put({ namespace: "circuit-mem", id: server, items: [{ key: b(""), value: b("fine") }] });
      expect(s((await kv.get({ namespace: "circuit-mem", id: server })).items[0]!.value)).toBe("fine");
    } finally {
      await startServer(server);
    }
    // The same gateway recovers: a probe gets through and closes the circuit.
    await eventually(() => write("after"), RECOVERY_MS, 500);
    expect(await eventually(() => read("before"), RECOVERY_MS, 500)).toBe(true);
    expect(await circuitOf(backend)).toBe(CircuitState.CLOSED);
  }, 240_000);
});
