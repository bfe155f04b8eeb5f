import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { Client, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { deserializer, serializer } from "@prism/proto/grpc";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { b, s } from "../support/bytes.js";
import {
  eventually,
  freeLoopbackPort,
  type LaunchedGateway,
  launchGateway,
} from "../support/gateway-launch.js";
import { removeDataDir } from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";

/**
 * `--workers 2` (ADR-0028): two gateway processes under a supervisor on one port, a SQLite
 * backend and config store shared through files. Connections are spread over both workers, an
 * applied namespace reaches both, a killed worker is replaced, SIGTERM drains, and per-process
 * state is refused.
 */
const CHANNELS = 8;

type Unary<S extends GenServiceMethods> = {
  [K in keyof S]: (request: MessageInitShape<S[K]["input"]>) => Promise<MessageShape<S[K]["output"]>>;
};

/** Unary calls on a channel of its own (grpc-js shares one connection between equal channels). */
function ownChannel<S extends GenServiceMethods>(
  service: GenService<S>,
  address: string,
): Unary<S> & { close(): void } {
  const channel = new Client(address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  const client: Record<string, unknown> = { close: () => channel.close() };
  for (const method of service.methods) {
    client[method.localName] = (request: MessageInitShape<DescMessage>) =>
      new Promise((resolve, reject) =>
        channel.makeUnaryRequest(
          `/${service.typeName}/${method.name}`,
          serializer(method.input),
          deserializer(method.output),
          create(method.input, request),
          new Metadata(),
          { deadline: Date.now() + 10_000 },
          (error: ServiceError | null, response?: unknown) => (error ? reject(error) : resolve(response)),
        ),
      );
  }
  return client as Unary<S> & { close(): void };
}

const kvChannel = (address: string) => ownChannel(KeyValueService, address);

/** Worker pids from the supervisor's "worker N started (pid P)" lines, latest per worker. */
function workerPids(output: string): Map<number, number> {
  const pids = new Map<number, number>();
  for (const [, index, pid] of output.matchAll(/worker (\d+) started \(pid (\d+)\)/g))
    pids.set(Number(index), Number(pid));
  return pids;
}

/** Established TCP connections to `port` that each process in `pids` holds (from /proc). */
function connectionsByPid(pids: readonly number[], port: number): Map<number, number> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const row of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = row.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT, st 01 = ESTABLISHED, inode is the 10th field.
      if (fields.length < 10 || fields[3] !== "01") continue;
      if (Number.parseInt(fields[1]!.split(":")[1]!, 16) === port) inodes.add(fields[9]!);
    }
  }
  const counts = new Map<number, number>();
  for (const pid of pids) {
    let held = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (inodes.has(/^socket:\[(\d+)\]$/.exec(link)?.[1] ?? "")) held++;
      } catch {
        // Closed since the listing.
      }
    }
    counts.set(pid, held);
  }
  return counts;
}

/**
 * The supervisor's address once every worker listens. Up to 90 s, not `listening()`'s 30: three
 * processes load the gateway at once, on two cores shared with other tests.
 */
async function supervisorListening(gateway: LaunchedGateway): Promise<string> {
  let address: string | undefined;
  await eventually(
    async () => {
      if (gateway.child.exitCode !== null) throw new Error(`exited:\n${gateway.output()}`);
      address = /prism gateway: listening on (\S+)/.exec(gateway.output())?.[1];
      return address !== undefined;
    },
    90_000,
    50,
  );
  return address!;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("gateway --workers 2", () => {
  let dir: string;
  let port: number;
  let gateway: LaunchedGateway;
  let address: string;
  const kvs: ReturnType<typeof kvChannel>[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "prism-workers-"));
    port = await freeLoopbackPort();
    const file = join(dir, "gateway.yaml");
    writeFileSync(
      file,
      stringify({
        listen: { grpc: `127.0.0.1:${port}` },
        dataDir: dir,
        backends: { lite: { type: "sqlite", path: "data.db" }, mem: { type: "memory" } },
        namespaces: [{ name: "shared-kv", pattern: "keyvalue", backend: "lite" }],
        metrics: { listen: "127.0.0.1:0" },
        admin: { enabled: false },
        overload: { shedLagMs: 0 },
        shutdownGraceMs: 20_000,
      }),
    );
    gateway = launchGateway({ args: ["--config", file, "--workers", "2"] });
    address = await supervisorListening(gateway);
    for (let i = 0; i < CHANNELS; i++) kvs.push(kvChannel(address));
  }, 120_000);

  afterAll(async () => {
    for (const kv of kvs) kv.close();
    await gateway?.stop("SIGKILL");
    removeDataDir(dir);
  });

  it("spreads connections over two worker processes, each answering", async () => {
    expect(address).toBe(`127.0.0.1:${port}`);
    const pids = [...workerPids(gateway.output()).values()];
    expect(pids).toHaveLength(2);
    await Promise.all(
      kvs.map((kv, i) =>
        kv.put({ namespace: "shared-kv", id: `c${i}`, items: [{ key: b(""), value: b(`v${i}`) }] }),
      ),
    );
    // Written through one worker, read through every connection, hence through the other too.
    for (const kv of kvs) {
      const read = await kv.get({ namespace: "shared-kv", id: "c0" });
      expect(s(read.items[0]!.value)).toBe("v0");
    }
    const held = connectionsByPid(pids, port);
    expect([...held.values()].reduce((a, c) => a + c, 0)).toBe(CHANNELS);
    for (const pid of pids)
      expect(held.get(pid), `connections served by worker pid ${pid}`).toBeGreaterThan(0);

    // The supervisor's /metrics adds up both workers' counters.
    const metrics = /"address":"([^"]+)","msg":"prism metrics listening"/.exec(gateway.output())?.[1];
    const text = await (await fetch(`http://${metrics}/metrics`)).text();
    const puts = text
      .split("\n")
      .filter((line) => line.startsWith("prism_requests_total{") && /namespace="shared-kv"/.test(line))
      .filter((line) => line.includes(`method="KeyValueService/Put"`))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
    expect(puts).toBe(CHANNELS);
  });

  it("serves a namespace applied through one worker from every worker within seconds", async () => {
    const admin = ownChannel(AdminService, address);
    try {
      await admin.applyNamespace({
        spec: { case: "yaml", value: "name: late-kv\npattern: keyvalue\nbackend: lite\n" },
      });
      await eventually(async () => {
        await Promise.all(
          kvs.map((kv, i) =>
            kv.put({ namespace: "late-kv", id: `l${i}`, items: [{ key: b(""), value: b("x") }] }),
          ),
        );
        return true;
      }, 5000);

      // State that would live in one worker is refused at apply, with the reason and the fix.
      for (const yaml of [
        "name: cache\npattern: keyvalue\nbackend: mem\n",
        "name: limited\npattern: keyvalue\nbackend: lite\nlimits: { rps: 10 }\n",
      ]) {
        const failure = await rpcFailure(
          admin.applyNamespace({ spec: { case: "yaml", value: yaml } }),
          status.FAILED_PRECONDITION,
        );
        expect(failure.details).toMatchObject({ reason: "PER_PROCESS_STATE", metadata: { workers: "2" } });
        expect(failure.message).toContain("cannot be served by 2 gateway workers");
        expect(failure.message).toMatch(/run one worker/);
      }
    } finally {
      admin.close();
    }
  });

  it("restarts a worker killed with SIGKILL, and calls keep succeeding", async () => {
    const before = workerPids(gateway.output());
    const [index, victim] = [...before.entries()][0]!;
    process.kill(victim, "SIGKILL");
    await eventually(async () => {
      const now = workerPids(gateway.output()).get(index);
      return now !== undefined && now !== victim && alive(now);
    }, 60_000);
    expect(gateway.output()).toMatch(
      new RegExp(`worker ${index} \\(pid ${victim}\\) exited with signal SIGKILL; restarting it in \\d+ ms`),
    );
    // Channels that were on the killed worker reconnect (to either worker) on their next call.
    for (const [i, kv] of kvs.entries()) {
      await eventually(async () => {
        await kv.put({ namespace: "shared-kv", id: `after-${i}`, items: [{ key: b(""), value: b("y") }] });
        return true;
      }, 20_000);
    }
    const pids = [...workerPids(gateway.output()).values()];
    expect(pids.every(alive)).toBe(true);
  }, 120_000);

  it("drains on SIGTERM: an in-flight scan finishes, every worker exits, the supervisor exits 0", async () => {
    const value = new Uint8Array(16 * 1024).fill(7);
    const ids = Array.from({ length: 300 }, (_, i) => `bulk-${String(i).padStart(4, "0")}`);
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(
        ids
          .slice(i, i + 50)
          .map((id, j) =>
            kvs[j % CHANNELS]!.put({ namespace: "late-kv", id, items: [{ key: b("v"), value }] }),
          ),
      );
    }
    const pids = [...workerPids(gateway.output()).values()];
    // A stream: far more than HTTP/2 flow control lets the worker push ahead of the reader.
    const scanChannel = new Client(address, credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
    });
    const scan = scanChannel
      .makeServerStreamRequest(
        `/${KeyValueService.typeName}/Scan`,
        serializer(KeyValueService.method.scan.input),
        deserializer(KeyValueService.method.scan.output),
        create(KeyValueService.method.scan.input, { namespace: "late-kv" }),
      )
      [Symbol.asyncIterator]() as AsyncIterator<MessageShape<typeof KeyValueService.method.scan.output>>;
    const seen: string[] = [];
    const first = await scan.next();
    seen.push(first.value.id);

    const exited = gateway.stop("SIGTERM");
    await eventually(async () => gateway.output().includes("SIGTERM, stopping 2 workers"));
    for (;;) {
      const next = await scan.next();
      if (next.done) break;
      seen.push(next.value.id);
      if (seen.length === 150) expect(gateway.child.exitCode, "exited while a call was in flight").toBeNull();
      await new Promise((r) => setTimeout(r, 2));
    }
    scanChannel.close();
    expect(seen.filter((id) => id.startsWith("bulk-"))).toEqual(ids);
    expect(await exited).toBe(0);
    expect(gateway.output()).toContain("prism gateway: stopped");
    expect(pids.filter(alive), "workers left running").toEqual([]);
  }, 90_000);
});

describe("gateway --workers 2 in a crash loop", () => {
  it("restarts a worker that keeps dying with growing delays, then gives up: exit 1, no worker left", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prism-workers-"));
    const gateway = launchGateway({
      args: ["--workers", "2"],
      env: {
        PRISM_CONFIG: undefined,
        PRISM_DATA_DIR: dir,
        PRISM_GRPC_ADDR: `127.0.0.1:${await freeLoopbackPort()}`,
        PRISM_METRICS_ADDR: "127.0.0.1:0",
        PRISM_ADMIN_ADDR: "127.0.0.1:0",
        PRISM_WORKERS: undefined,
      },
    });
    try {
      // The embedded default (SQLite demo namespaces, an unused memory backend) runs with workers.
      await supervisorListening(gateway);
      const killed = new Set<number>();
      while (gateway.child.exitCode === null) {
        const pid = workerPids(gateway.output()).get(1)!;
        if (!killed.has(pid) && alive(pid)) {
          killed.add(pid);
          process.kill(pid, "SIGKILL");
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await gateway.exited).toBe(1);
      const output = gateway.output();
      expect(output).toMatch(/worker 1 \(pid \d+\) exited with signal SIGKILL; restarting it in 250 ms/);
      expect(output).toMatch(/restarting it in 4000 ms/);
      expect(output).toContain("worker 1 keeps crashing (see its output above); giving up");
      expect(killed.size).toBe(6);
      expect([...workerPids(output).values()].filter(alive), "workers left running").toEqual([]);
    } finally {
      await gateway.stop("SIGKILL");
      removeDataDir(dir);
    }
  }, 180_000);
});

describe("gateway --workers 2 refuses per-process state", () => {
  it("exits 2 naming the namespace, the memory backend and the fix", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prism-workers-"));
    try {
      const file = join(dir, "gateway.yaml");
      writeFileSync(
        file,
        stringify({
          listen: { grpc: `127.0.0.1:${await freeLoopbackPort()}` },
          dataDir: dir,
          backends: { mem: { type: "memory" } },
          namespaces: [{ name: "cache", pattern: "keyvalue", backend: "mem" }],
        }),
      );
      const gateway = launchGateway({ args: ["--config", file], env: { PRISM_WORKERS: "2" } });
      expect(await gateway.exited).toBe(2);
      expect(gateway.output()).toContain(
        "namespaces.0 (cache) with 2 workers: backend: backend mem is of type memory, whose data lives in one process",
      );
      expect(gateway.output()).not.toContain("worker 1 started");
    } finally {
      removeDataDir(dir);
    }
  });
});
