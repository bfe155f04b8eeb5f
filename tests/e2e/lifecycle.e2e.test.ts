import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { createPromiseClient } from "@prism/proto/grpc";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { b, s } from "../support/bytes.js";
import {
  eventually,
  freeLoopbackPort,
  type LaunchedGateway,
  launchGateway,
} from "../support/gateway-launch.js";
import { removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";

/** The gateway process's life: graceful shutdown, refusing bad configs, the embedded default. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "prism-lifecycle-"));
  cleanups.push(() => removeDataDir(dir));
  return dir;
}

/** Whether anything accepts TCP connections on host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: 2000 });
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
    socket.once("timeout", () => {
      socket.destroy();
      done(false);
    });
  });
}

describe("graceful shutdown on SIGTERM", () => {
  const RECORDS = 300;
  const VALUE = new Uint8Array(16 * 1024).fill(7);

  it("finishes the in-flight scan, refuses new calls, exits 0 and logs that it stopped", async () => {
    const gateway = await startGatewayProcess({
      backends: { mem: { type: "memory" } },
      namespaces: [{ name: "bulk", pattern: "keyvalue", backend: "mem" }],
      shutdownGraceMs: 30_000,
    });
    const kv = createPromiseClient(KeyValueService, { address: gateway.address });
    cleanups.push(() => removeDataDir(gateway.dataDir));
    cleanups.push(() => gateway.stop("SIGKILL"));
    cleanups.push(() => kv.close());

    const ids = Array.from({ length: RECORDS }, (_, i) => `rec-${String(i).padStart(4, "0")}`);
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(
        ids
          .slice(i, i + 50)
          .map((id) => kv.put({ namespace: "bulk", id, items: [{ key: b("v"), value: VALUE }] })),
      );
    }

    // ~5 MB in one server stream: far more than HTTP/2 flow control lets the server push ahead.
    const scan = kv.scan({ namespace: "bulk" })[Symbol.asyncIterator]();
    const seen: string[] = [];
    const first = await scan.next();
    seen.push(first.value!.id);

    const exited = gateway.stop("SIGTERM");
    await eventually(async () => gateway.output().includes("SIGTERM, shutting down"));

    // New calls are refused, on a fresh connection and on the one carrying the scan.
    const fresh = createPromiseClient(KeyValueService, { address: gateway.address });
    cleanups.push(() => fresh.close());
    await rpcFailure(fresh.get({ namespace: "bulk", id: "rec-0000" }), status.UNAVAILABLE);
    await rpcFailure(kv.get({ namespace: "bulk", id: "rec-0000" }), status.UNAVAILABLE);

    // The scan is still being served: read it slowly to the end.
    for (;;) {
      const next = await scan.next();
      if (next.done) break;
      seen.push(next.value.id);
      expect(next.value.items.map((item) => item.value.length)).toEqual([VALUE.length]);
      if (seen.length === RECORDS / 2)
        expect(gateway.child.exitCode, "exited while a call was in flight").toBeNull();
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(seen).toEqual(ids);

    expect(await exited).toBe(0);
    const output = gateway.output();
    expect(output).toContain("prism gateway stopped");
    expect(output.indexOf("SIGTERM, shutting down")).toBeLessThan(output.indexOf("prism gateway stopped"));
  });
});

describe("config validation at start", () => {
  async function startWith(config: Record<string, unknown>): Promise<LaunchedGateway> {
    const dir = tempDir();
    const file = join(dir, "gateway.yaml");
    writeFileSync(file, stringify({ dataDir: dir, ...config }));
    const gateway = launchGateway({ args: ["--config", file] });
    cleanups.push(() => gateway.stop("SIGKILL"));
    return gateway;
  }

  it("exits 2 listing every problem at once", async () => {
    const port = await freeLoopbackPort();
    const gateway = await startWith({
      listen: { grpc: `0.0.0.0:${port}` },
      backends: {
        weird: { type: "cassandra" },
        lite: { type: "sqlite", path: "x.db", journal: "wal" },
        slow: { type: "sqlite", sweepIntervalMs: 5 },
        events: { type: "kafka", brokers: "127.0.0.1:1" },
      },
      namespaces: [
        { name: "orphan", pattern: "keyvalue", backend: "missing" },
        { name: "graphy", pattern: "graph", backend: "events" },
      ],
    });
    expect(await gateway.exited).toBe(2);
    const output = gateway.output();
    expect(output).toContain("invalid gateway config:");
    for (const problem of [
      "backends.weird.type: unknown backend type cassandra",
      "backends.lite.journal: unknown option",
      "backends.slow.sweepIntervalMs: must be an integer from 100 to 3600000",
      "namespaces.0.backend: unknown backend missing",
      "namespaces.1.backend: backend events (kafka) does not serve the graph pattern",
      `listen.grpc: 0.0.0.0:${port} is not a loopback address`,
    ]) {
      expect(output).toContain(problem);
    }
    expect(output).not.toContain("listening on");
  });

  it.each(["0.0.0.0", "[::]"])("refuses to listen on %s without authentication", async (host) => {
    const port = await freeLoopbackPort();
    const gateway = await startWith({
      listen: { grpc: `${host}:${port}` },
      backends: { mem: { type: "memory" } },
      namespaces: [{ name: "fine", pattern: "keyvalue", backend: "mem" }],
    });
    expect(await gateway.exited).toBe(2);
    const problems = gateway
      .output()
      .split("\n")
      .filter((line) => line.startsWith("  - "));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/not a loopback address; refusing to serve it without authentication/);
    expect(await accepts("127.0.0.1", port)).toBe(false);
  });
});

describe("the embedded default (no config file)", () => {
  it("serves demo-kv on SQLite in the data directory, on loopback only", async () => {
    const dataDir = tempDir();
    const port = await freeLoopbackPort();
    const gateway = launchGateway({
      env: { PRISM_GRPC_ADDR: `127.0.0.1:${port}`, PRISM_DATA_DIR: dataDir, PRISM_CONFIG: undefined },
    });
    cleanups.push(() => gateway.stop("SIGKILL"));
    const address = await gateway.listening();
    expect(address).toBe(`127.0.0.1:${port}`);
    expect(gateway.output()).toContain("embedded default config");

    const kv = createPromiseClient(KeyValueService, { address });
    const admin = createPromiseClient(AdminService, { address });
    cleanups.push(
      () => kv.close(),
      () => admin.close(),
    );
    await kv.put({
      namespace: "demo-kv",
      id: "hello",
      items: [{ key: new Uint8Array(), value: b("world") }],
    });
    const got = await kv.get({ namespace: "demo-kv", id: "hello" });
    expect(got.items.map((item) => s(item.value))).toEqual(["world"]);

    const demo = (await admin.getNamespace({ name: "demo-kv" })).namespace!;
    const { backends } = await admin.listBackends({});
    expect(backends.find((backend) => backend.name === demo.backend)?.type).toBe("sqlite");
    expect(existsSync(join(dataDir, "prism.db"))).toBe(true);

    // Reachable on loopback, on no other interface.
    expect(await accepts("127.0.0.1", port)).toBe(true);
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((nic) => nic && !nic.internal)
      .map((nic) => nic!.address);
    for (const host of external) expect(await accepts(host, port), `reachable on ${host}`).toBe(false);

    expect(await gateway.stop()).toBe(0);
  });
});
