import { status } from "@grpc/grpc-js";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { AdminService, HealthStatus, NamespaceSource } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { Pattern } from "@prism/proto/prism/options/v1/options";
import { stackEndpoints } from "@prism/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b, s } from "../support/bytes.js";
import { eventually } from "../support/gateway-launch.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";

/**
 * AdminService end to end: namespaces applied over gRPC are served at once, kept in the config
 * store across restarts, and picked up by every gateway sharing that store.
 */
const CONFIG = {
  backends: {
    mem: { type: "memory" },
    local: { type: "sqlite", path: "data.db" },
    // Serves TimeSeries only: the backend that does not serve a namespace's pattern.
    events: { type: "kafka", brokers: "env:PRISM_TEST_KAFKA_BROKERS", topicPrefix: "admin-e2e" },
  },
  namespaces: [{ name: "cfg-kv", pattern: "keyvalue", backend: "mem" }],
  configStore: { type: "sqlite", pollIntervalMs: 200 },
};

type Admin = PromiseClient<typeof AdminService.method> & { close(): void };
type Kv = PromiseClient<typeof KeyValueService.method> & { close(): void };

/** A gateway process with an admin and a KeyValue client on it. */
interface Connected {
  gateway: GatewayProcess;
  admin: Admin;
  kv: Kv;
}

async function connect(options: { dataDir?: string } = {}): Promise<Connected> {
  const gateway = await startGatewayProcess(CONFIG, {
    ...options,
    env: { PRISM_TEST_KAFKA_BROKERS: stackEndpoints().kafkaBrokers },
  });
  return {
    gateway,
    admin: createPromiseClient(AdminService, { address: gateway.address }),
    kv: createPromiseClient(KeyValueService, { address: gateway.address }),
  };
}

async function disconnect(connected: Connected | undefined): Promise<number | null | undefined> {
  connected?.admin.close();
  connected?.kv.close();
  return connected?.gateway.stop();
}

const flat = (value: string) => [{ key: new Uint8Array(), value: b(value) }];
const readValues = async (kv: Kv, namespace: string, id: string) =>
  (await kv.get({ namespace, id })).items.map((item) => s(item.value));

describe("AdminService on one gateway", () => {
  let it1: Connected;
  beforeAll(async () => {
    it1 = await connect();
  });
  afterAll(async () => {
    await disconnect(it1);
    if (it1) removeDataDir(it1.gateway.dataDir);
  });

  it("lists config-file namespaces as source CONFIG and answers NOT_FOUND for unknown ones", async () => {
    const { namespaces } = await it1.admin.listNamespaces({});
    expect(namespaces.find((ns) => ns.name === "cfg-kv")).toMatchObject({
      pattern: Pattern.KEYVALUE,
      backend: "mem",
      source: NamespaceSource.CONFIG,
    });
    const got = await it1.admin.getNamespace({ name: "cfg-kv" });
    expect(got.namespace).toMatchObject({ name: "cfg-kv", source: NamespaceSource.CONFIG });

    const missing = await rpcFailure(it1.admin.getNamespace({ name: "no-such-ns" }), status.NOT_FOUND);
    expect(missing.details.reason).toBe("NAMESPACE_NOT_FOUND");
    expect(missing.message).toContain("no-such-ns");
  });

  it("applies a Namespace message that serves KeyValue at once; re-applying bumps the version", async () => {
    const namespace = { name: "applied-msg", pattern: Pattern.KEYVALUE, backend: "mem" };
    await rpcFailure(it1.kv.get({ namespace: "applied-msg", id: "a" }), status.NOT_FOUND);

    const first = await it1.admin.applyNamespace({ spec: { case: "namespace", value: namespace } });
    expect(first.created).toBe(true);
    expect(first.namespace).toMatchObject({
      name: "applied-msg",
      version: 1n,
      source: NamespaceSource.STORE,
    });
    expect(first.namespace?.updateTime).toBeDefined();

    await it1.kv.put({ namespace: "applied-msg", id: "a", items: flat("served") });
    expect(await readValues(it1.kv, "applied-msg", "a")).toEqual(["served"]);

    const again = await it1.admin.applyNamespace({
      spec: { case: "namespace", value: { ...namespace, limits: { maxValueBytes: 4n } } },
    });
    expect(again.created).toBe(false);
    expect(again.namespace?.version).toBe(2n);
    expect((await it1.admin.getNamespace({ name: "applied-msg" })).namespace).toMatchObject({
      version: 2n,
      limits: { maxValueBytes: 4n },
    });
    // The new limit applies to the next request, and the data written before is still there.
    const tooBig = await rpcFailure(
      it1.kv.put({ namespace: "applied-msg", id: "b", items: flat("12345") }),
      status.INVALID_ARGUMENT,
    );
    expect(tooBig.details.reason).toBe("VALUE_TOO_LARGE");
    expect(await readValues(it1.kv, "applied-msg", "a")).toEqual(["served"]);

    const { namespaces } = await it1.admin.listNamespaces({});
    expect(namespaces.find((ns) => ns.name === "applied-msg")?.source).toBe(NamespaceSource.STORE);
  });

  it("applies a namespace as YAML, as `prismctl namespace apply -f` sends it", async () => {
    const yaml = ["name: applied-yaml", "pattern: keyvalue", "backend: local", "limits: { rps: 1000 }"].join(
      "\n",
    );
    const first = await it1.admin.applyNamespace({ spec: { case: "yaml", value: yaml } });
    expect(first.created).toBe(true);
    expect(first.namespace).toMatchObject({
      name: "applied-yaml",
      pattern: Pattern.KEYVALUE,
      backend: "local",
      limits: { rps: 1000 },
      version: 1n,
    });
    await it1.kv.put({ namespace: "applied-yaml", id: "y", items: flat("from yaml") });
    expect(await readValues(it1.kv, "applied-yaml", "y")).toEqual(["from yaml"]);

    const again = await it1.admin.applyNamespace({ spec: { case: "yaml", value: yaml } });
    expect(again).toMatchObject({ created: false, namespace: { version: 2n } });
  });

  it("validates with dry_run without storing or serving anything", async () => {
    const dry = await it1.admin.applyNamespace({
      spec: { case: "yaml", value: "name: dry-ns\npattern: keyvalue\nbackend: mem\n" },
      dryRun: true,
    });
    expect(dry.created).toBe(true);
    expect(dry.namespace?.name).toBe("dry-ns");
    await rpcFailure(it1.admin.getNamespace({ name: "dry-ns" }), status.NOT_FOUND);
    await rpcFailure(it1.kv.put({ namespace: "dry-ns", id: "x", items: flat("v") }), status.NOT_FOUND);
    expect((await it1.admin.listNamespaces({})).namespaces.map((ns) => ns.name)).not.toContain("dry-ns");

    // A dry run over an existing namespace changes nothing either.
    await it1.admin.applyNamespace({
      spec: { case: "yaml", value: "name: dry-old\npattern: keyvalue\nbackend: mem" },
    });
    const dryAgain = await it1.admin.applyNamespace({
      spec: { case: "yaml", value: "name: dry-old\npattern: keyvalue\nbackend: local" },
      dryRun: true,
    });
    expect(dryAgain.created).toBe(false);
    expect((await it1.admin.getNamespace({ name: "dry-old" })).namespace).toMatchObject({
      backend: "mem",
      version: 1n,
    });

    const invalid = await rpcFailure(
      it1.admin.applyNamespace({
        spec: { case: "yaml", value: "name: dry-bad\npattern: keyvalue\nbackend: nope" },
        dryRun: true,
      }),
      status.INVALID_ARGUMENT,
    );
    expect(invalid.details.reason).toBe("INVALID_NAMESPACE");
  });

  it("rejects an invalid spec with INVALID_ARGUMENT listing every problem", async () => {
    const yaml = [
      "name: Bad_Name",
      "pattern: graph",
      "backend: events",
      "shadow: { backend: nope }",
      "colour: red",
    ].join("\n");
    const failure = await rpcFailure(
      it1.admin.applyNamespace({ spec: { case: "yaml", value: yaml } }),
      status.INVALID_ARGUMENT,
    );
    expect(failure.details.reason).toBe("INVALID_NAMESPACE");
    expect(failure.message).toMatch(/name: must be 1-63 characters/);
    expect(failure.message).toMatch(/colour/);
    expect(failure.message).toMatch(/backend: backend events \(kafka\) does not serve the graph pattern/);
    expect(failure.message).toMatch(/shadow\.backend: unknown backend nope/);
  });

  it.each([
    ["a bad name", "name: 9lives\npattern: keyvalue\nbackend: mem", /name: must be/],
    [
      "an unknown backend",
      "name: ok-name\npattern: keyvalue\nbackend: nope",
      /backend: unknown backend nope/,
    ],
    [
      "a pattern the backend does not serve",
      "name: ok-name\npattern: graph\nbackend: events",
      /backend events \(kafka\) does not serve the graph pattern/,
    ],
    ["an unknown field", "name: ok-name\npattern: keyvalue\nbackend: mem\ncolour: red", /colour/],
    ["broken YAML", "name: [unclosed", /yaml:/],
  ])("rejects %s", async (_what, yaml, problem) => {
    const failure = await rpcFailure(
      it1.admin.applyNamespace({ spec: { case: "yaml", value: yaml } }),
      status.INVALID_ARGUMENT,
    );
    expect(failure.details.reason).toBe("INVALID_NAMESPACE");
    expect(failure.message).toMatch(problem);
    await rpcFailure(it1.admin.getNamespace({ name: "ok-name" }), status.NOT_FOUND);
  });

  it("rejects an invalid Namespace message, every problem at once", async () => {
    const failure = await rpcFailure(
      it1.admin.applyNamespace({ spec: { case: "namespace", value: { name: "Nope!", backend: "" } } }),
      status.INVALID_ARGUMENT,
    );
    expect(failure.message).toMatch(/name: /);
    expect(failure.message).toMatch(/pattern: /);
    expect(failure.message).toMatch(/backend: /);
    await rpcFailure(it1.admin.applyNamespace({}), status.INVALID_ARGUMENT);
  });

  it("refuses to apply or delete a config-file namespace", async () => {
    const apply = await rpcFailure(
      it1.admin.applyNamespace({
        spec: { case: "yaml", value: "name: cfg-kv\npattern: keyvalue\nbackend: local" },
      }),
      status.FAILED_PRECONDITION,
    );
    expect(apply.details.reason).toBe("NAMESPACE_READ_ONLY");
    const remove = await rpcFailure(
      it1.admin.deleteNamespace({ name: "cfg-kv" }),
      status.FAILED_PRECONDITION,
    );
    expect(remove.details.reason).toBe("NAMESPACE_READ_ONLY");
    expect((await it1.admin.getNamespace({ name: "cfg-kv" })).namespace?.backend).toBe("mem");
  });

  it("deletes an applied namespace: KeyValue calls to it answer NOT_FOUND at once", async () => {
    await it1.admin.applyNamespace({
      spec: { case: "yaml", value: "name: doomed\npattern: keyvalue\nbackend: mem" },
    });
    await it1.kv.put({ namespace: "doomed", id: "a", items: flat("v") });
    await it1.admin.deleteNamespace({ name: "doomed" });

    const get = await rpcFailure(it1.kv.get({ namespace: "doomed", id: "a" }), status.NOT_FOUND);
    expect(get.details.reason).toBe("NAMESPACE_NOT_FOUND");
    await rpcFailure(it1.kv.put({ namespace: "doomed", id: "a", items: flat("v") }), status.NOT_FOUND);
    await rpcFailure(it1.admin.getNamespace({ name: "doomed" }), status.NOT_FOUND);
    const again = await rpcFailure(it1.admin.deleteNamespace({ name: "doomed" }), status.NOT_FOUND);
    expect(again.details.reason).toBe("NAMESPACE_NOT_FOUND");
  });

  it("lists every backend with its type, health, patterns and capabilities", async () => {
    const { backends } = await it1.admin.listBackends({});
    expect(backends.map((backend) => [backend.name, backend.type])).toEqual([
      ["events", "kafka"],
      ["local", "sqlite"],
      ["mem", "memory"],
    ]);
    for (const backend of backends) {
      expect(backend.health, backend.healthMessage).toBe(HealthStatus.SERVING);
      expect(backend.healthLatency).toBeDefined();
    }
    const [events, local, mem] = backends;
    expect(events!.patterns).toEqual([Pattern.TIMESERIES]);
    expect(events!.capabilities).toEqual(["timeseries.live-tail", "timeseries.native-retention"]);
    for (const store of [local!, mem!]) {
      expect(store.patterns).toEqual([Pattern.KEYVALUE, Pattern.TIMESERIES, Pattern.GRAPH]);
      expect(store.capabilities).toEqual(
        expect.arrayContaining(["keyvalue.ttl", "keyvalue.atomic-mutate", "timeseries.live-tail"]),
      );
    }
  });
});

describe("applied namespaces persist", () => {
  let first: Connected | undefined;
  let second: Connected | undefined;
  afterAll(async () => {
    await disconnect(first);
    await disconnect(second);
    if (first) removeDataDir(first.gateway.dataDir);
  });

  it("survive a restart on the same data directory, with their SQLite data", async () => {
    first = await connect();
    await first.admin.applyNamespace({
      spec: {
        case: "yaml",
        value: "name: kept\npattern: keyvalue\nbackend: local\nlimits: { max_value_bytes: 1000 }",
      },
    });
    await first.kv.put({ namespace: "kept", id: "rec", items: flat("still here") });
    expect(await disconnect(first)).toBe(0);

    second = await connect({ dataDir: first.gateway.dataDir });
    expect((await second.admin.getNamespace({ name: "kept" })).namespace).toMatchObject({
      backend: "local",
      version: 1n,
      source: NamespaceSource.STORE,
      limits: { maxValueBytes: 1000n },
    });
    expect(await readValues(second.kv, "kept", "rec")).toEqual(["still here"]);
    await second.kv.put({ namespace: "kept", id: "rec2", items: flat("new") });
    expect(await readValues(second.kv, "kept", "rec2")).toEqual(["new"]);
  });
});

describe("two gateways sharing one config store", () => {
  let a: Connected;
  let b: Connected;
  beforeAll(async () => {
    a = await connect();
    b = await connect({ dataDir: a.gateway.dataDir });
  });
  afterAll(async () => {
    await disconnect(a);
    await disconnect(b);
    if (a) removeDataDir(a.gateway.dataDir);
  });

  it("serve a namespace applied through either, without restart", async () => {
    expect(a.gateway.address).not.toBe(b.gateway.address);
    await a.admin.applyNamespace({
      spec: { case: "yaml", value: "name: shared\npattern: keyvalue\nbackend: local" },
    });
    await a.kv.put({ namespace: "shared", id: "r", items: flat("written via A") });

    // B polls the store every 200 ms; both gateways open the same SQLite file for the backend.
    await eventually(async () => (await readValues(b.kv, "shared", "r"))[0] === "written via A");
    expect((await b.admin.getNamespace({ name: "shared" })).namespace).toMatchObject({
      version: 1n,
      source: NamespaceSource.STORE,
    });

    // A change through B reaches A the same way.
    await b.admin.applyNamespace({
      spec: {
        case: "yaml",
        value: "name: shared\npattern: keyvalue\nbackend: local\nlimits: { max_value_bytes: 4 }",
      },
    });
    await eventually(async () => {
      const failure = await rpcFailure(a.kv.put({ namespace: "shared", id: "r", items: flat("too long") }));
      return failure.details.reason === "VALUE_TOO_LARGE";
    });
    expect((await a.admin.getNamespace({ name: "shared" })).namespace?.version).toBe(2n);
  });

  it("stop serving a namespace deleted through the other", async () => {
    await a.admin.applyNamespace({
      spec: { case: "yaml", value: "name: short-lived\npattern: keyvalue\nbackend: local" },
    });
    await eventually(
      async () => (await b.admin.getNamespace({ name: "short-lived" })).namespace !== undefined,
    );
    await a.admin.deleteNamespace({ name: "short-lived" });
    await eventually(async () => {
      const failure = await rpcFailure(b.kv.get({ namespace: "short-lived", id: "x" }));
      return failure.code === status.NOT_FOUND && failure.details.reason === "NAMESPACE_NOT_FOUND";
    });
  });
});
