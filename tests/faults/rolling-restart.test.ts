import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { create, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { checkHealth } from "@prism/gateway";
import { createPromiseClient, deserializer, serializer } from "@prism/proto/grpc";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { stackEndpoints } from "@prism/stack";
import { afterAll, describe, expect, it } from "vitest";
import { b, s } from "../support/bytes.js";
import { freeLoopbackPort } from "../support/gateway-launch.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { startTcpBalancer, type TcpBalancer } from "../support/tcp-balancer.js";
import { eventually } from "./outage-probes.js";

/**
 * Issue 13's rolling restart: three gateway processes on one PostgreSQL config store behind one
 * loopback TCP balancer (round robin per connection, like a Kubernetes Service), a client putting
 * and getting at a steady rate through the balancer on several channels, and each gateway in turn
 * taken out of rotation, sent SIGTERM, replaced by a new process on the same port and put back —
 * what a Deployment's rolling update does. No call may fail, every read must see the value its
 * Put acknowledged, and every acknowledged Put is read back from the new gateways at the end.
 *
 * The client's HTTP/2 connections outlive the balancer's decision: a connection to a gateway that
 * is shutting down carries calls until that gateway's GOAWAY. In-flight calls must finish
 * (graceful shutdown), and calls the gateway never started must be retried by grpc-js
 * transparently on a new connection, which the balancer sends elsewhere.
 */
const run = randomBytes(3).toString("hex");
const NAMESPACE = "rolling-kv";
const { postgresUrl } = stackEndpoints();
const CONFIG = {
  backends: { pg: { type: "postgres", url: "env:PRISM_TEST_POSTGRES_URL", schema: `rolling_${run}` } },
  configStore: { type: "postgres", url: "env:PRISM_TEST_POSTGRES_URL", schema: `rolling_cfg_${run}` },
  admin: { enabled: false },
  shutdownGraceMs: 10_000,
};

/** A KeyValue client on a channel of its own: grpc-js shares connections between equal channels. */
class KvChannel {
  private readonly client: Client;
  inFlight = 0;

  constructor(address: string) {
    this.client = new Client(address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  }

  put(request: MessageInitShape<typeof KeyValueService.method.put.input>) {
    return this.call(KeyValueService.method.put, request);
  }

  get(request: MessageInitShape<typeof KeyValueService.method.get.input>) {
    return this.call(KeyValueService.method.get, request);
  }

  close(): void {
    this.client.close();
  }

  private call<I extends DescMessage, O extends DescMessage>(
    method: { name: string; input: I; output: O },
    request: MessageInitShape<I>,
  ): Promise<MessageShape<O>> {
    this.inFlight++;
    return new Promise<MessageShape<O>>((resolve, reject) => {
      this.client.makeUnaryRequest(
        `/${KeyValueService.typeName}/${method.name}`,
        serializer(method.input),
        deserializer(method.output),
        create(method.input, request),
        new Metadata(),
        { deadline: Date.now() + 15_000 },
        (error: ServiceError | null, response?: MessageShape<O>) =>
          error ? reject(error) : resolve(response!),
      );
    }).finally(() => {
      this.inFlight--;
    });
  }
}

/**
 * Puts (a new id each) and Gets (of an acknowledged id) at a fixed rate over a pool of channels.
 * One channel is retired now and then — it takes no new calls and closes once idle — and a new one
 * opened, so connections keep reaching the balancer and restarted gateways get traffic too.
 */
class SteadyLoad {
  readonly failures: string[] = [];
  readonly wrongReads: string[] = [];
  readonly acked = new Map<string, string>();
  puts = 0;
  gets = 0;
  private n = 0;
  private channels: KvChannel[] = [];
  private readonly retired = new Set<KvChannel>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly address: string,
    private readonly width = 6,
  ) {}

  start(intervalMs: number, rotateMs: number): void {
    this.channels = Array.from({ length: this.width }, () => new KvChannel(this.address));
    this.timers.push(setInterval(() => this.tick(), intervalMs));
    this.timers.push(setInterval(() => this.rotate(), rotateMs));
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all(this.inFlight);
    for (const channel of [...this.channels, ...this.retired]) channel.close();
  }

  private rotate(): void {
    const old = this.channels.shift()!;
    this.channels.push(new KvChannel(this.address));
    this.retired.add(old);
    for (const channel of this.retired) {
      if (channel.inFlight > 0) continue;
      channel.close();
      this.retired.delete(channel);
    }
  }

  private tick(): void {
    const n = this.n++;
    const channel = this.channels[n % this.channels.length]!;
    const known = [...this.acked.keys()];
    let call: Promise<void>;
    if (n % 2 === 0 || known.length === 0) {
      const id = `p${n}`;
      const value = `v${n}-${run}`;
      this.puts++;
      call = channel
        .put({ namespace: NAMESPACE, id, items: [{ key: new Uint8Array(), value: b(value) }] })
        .then(() => {
          this.acked.set(id, value);
        });
    } else {
      const id = known[(n * 7919) % known.length]!;
      this.gets++;
      call = channel.get({ namespace: NAMESPACE, id }).then((answer) => {
        const got = s(answer.items[0]?.value ?? new Uint8Array());
        if (got !== this.acked.get(id)) this.wrongReads.push(`${id}: ${got} != ${this.acked.get(id)}`);
      });
    }
    const tracked = call.catch((error: ServiceError) => {
      this.failures.push(`${n}: ${error.code} ${error.details ?? error.message}`);
    });
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }
}

const ENV = { PRISM_TEST_POSTGRES_URL: postgresUrl };
let gateways: GatewayProcess[] = [];
let balancer: TcpBalancer | undefined;
let load: SteadyLoad | undefined;

const startOn = (port: number) =>
  startGatewayProcess({ ...CONFIG, listen: { grpc: `127.0.0.1:${port}` } }, { env: ENV });

afterAll(async () => {
  await load?.stop().catch(() => undefined);
  await balancer?.close();
  await Promise.all(
    gateways.map(async (gateway) => {
      await gateway.stop().catch(() => undefined);
      removeDataDir(gateway.dataDir);
    }),
  );
});

describe("a rolling restart of three gateways behind one balancer", () => {
  it("restarts every gateway under load with 0 failed requests and every acknowledged Put readable", async () => {
    const ports = [await freeLoopbackPort(), await freeLoopbackPort(), await freeLoopbackPort()];
    gateways = [];
    for (const port of ports) gateways.push(await startOn(port));
    const admin = createPromiseClient(AdminService, { address: gateways[0]!.address });
    await admin.applyNamespace({
      spec: { case: "yaml", value: `name: ${NAMESPACE}\npattern: keyvalue\nbackend: pg` },
    });
    admin.close();
    // Every gateway serves the namespace applied through one of them (LISTEN/NOTIFY).
    for (const gateway of gateways) {
      const kv = createPromiseClient(KeyValueService, { address: gateway.address });
      await eventually(async () => {
        await kv.get({ namespace: NAMESPACE, id: "probe" });
        return true;
      }, 10_000);
      kv.close();
    }

    balancer = await startTcpBalancer(gateways.map((gateway) => gateway.address));
    load = new SteadyLoad(balancer.address);
    load.start(5, 400);
    await sleep(3000);
    const before = balancer.connections();
    expect(
      before.every((count) => count > 0),
      `connections per gateway: ${before}; calls ${load.puts}+${load.gets}; failures: ${load.failures.slice(0, 3)}`,
    ).toBe(true);

    const exitCodes: (number | null)[] = [];
    for (let i = 0; i < gateways.length; i++) {
      const acknowledgedBefore = load.acked.size;
      balancer.markOut(i);
      exitCodes.push(await gateways[i]!.stop("SIGTERM"));
      removeDataDir(gateways[i]!.dataDir);
      gateways[i] = await startOn(ports[i]!);
      await eventually(async () => {
        const answer = await checkHealth(gateways[i]!.address);
        return "status" in answer && answer.status === "SERVING";
      }, 10_000);
      const connectionsBefore = balancer.connections()[i]!;
      balancer.markIn(i);
      await eventually(async () => balancer!.connections()[i]! > connectionsBefore, 10_000);
      await sleep(1500);
      expect(
        load.acked.size,
        `Puts acknowledged while gateway ${i} restarted; failures: ${load.failures.slice(0, 5)}`,
      ).toBeGreaterThan(acknowledgedBefore);
    }
    await sleep(1000);
    await load.stop();

    expect(load.failures.slice(0, 20)).toEqual([]);
    expect(exitCodes).toEqual([0, 0, 0]);
    expect(load.wrongReads.slice(0, 20)).toEqual([]);
    expect(load.puts + load.gets).toBeGreaterThan(1000);
    expect(load.acked.size).toBe(load.puts);

    // Every acknowledged Put, read back through the restarted gateways.
    const kv = gateways.map((gateway) => createPromiseClient(KeyValueService, { address: gateway.address }));
    const missing: string[] = [];
    const entries = [...load.acked.entries()];
    for (let start = 0; start < entries.length; start += 50) {
      await Promise.all(
        entries.slice(start, start + 50).map(async ([id, value], j) => {
          const answer = await kv[j % kv.length]!.get({ namespace: NAMESPACE, id });
          if (s(answer.items[0]?.value ?? new Uint8Array()) !== value) missing.push(id);
        }),
      );
    }
    for (const client of kv) client.close();
    expect(missing.slice(0, 20)).toEqual([]);
    console.info(
      `rolling restart: ${load.puts} puts, ${load.gets} gets, ${load.failures.length} failed; connections per gateway ${balancer.connections()}`,
    );
  }, 180_000);
});
