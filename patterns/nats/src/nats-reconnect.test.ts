import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, isPrismError } from "@prism/core";
import { b } from "@prism/core/conformance";
import { afterAll, describe, expect, it } from "vitest";
import { natsDriver } from "./index.js";

// This test restarts a server, so it runs its own on a free port instead of the shared stack's.
const ALL = { limitItems: 100, limitBytes: 1 << 20 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The stack's own nats-server build (ADR-0010), else one on PATH (the Debian fallback). */
function natsServerBinary(): string {
  const stack = process.env.PRISM_STACK_DIR ?? join(import.meta.dirname, "../../../.stack");
  const own = join(stack, "nats/bin/nats-server");
  if (existsSync(own)) return own;
  const found = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error("nats-server is not installed: run `pnpm stack install nats`");
  return found;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== "object" || !address) throw new Error("no port");
  return address.port;
}

describe("nats backend across a server restart", () => {
  const storeDir = mkdtempSync(join(tmpdir(), "prism-nats-restart-"));
  let server: ChildProcess | undefined;
  let backend: Backend | undefined;
  afterAll(async () => {
    await backend?.close();
    server?.kill("SIGKILL");
    rmSync(storeDir, { recursive: true, force: true });
  });

  const start = (port: number) =>
    spawn(natsServerBinary(), ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir], {
      stdio: "ignore",
    });

  async function waitHealthy(target: Backend, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await target.health(AbortSignal.timeout(1000))).ok) return;
      await sleep(100);
    }
    throw new Error(`backend not healthy within ${timeoutMs} ms`);
  }

  it("fails fast while the server is down and recovers by itself", async () => {
    const port = await freePort();
    server = start(port);
    const url = `nats://127.0.0.1:${port}`;
    // The server takes a moment to listen; open() tolerates that and later calls connect.
    backend = await natsDriver.open({ name: "nats-restart", options: { url }, dataDir: tmpdir() });
    await waitHealthy(backend, 10_000);
    const kv = backend.keyvalue!;
    await kv.put("restart", "r", [{ key: b("k"), value: b("before") }], {});

    const stopped = server;
    await new Promise((resolve) => {
      stopped.once("exit", resolve);
      stopped.kill("SIGTERM");
    });
    await sleep(200); // let the client notice the closed socket

    const started = Date.now();
    const error: unknown = await kv.get("restart", "r", { kind: "all" }, ALL).catch((e: unknown) => e);
    expect(isPrismError(error, "Unavailable")).toBe(true);
    const write: unknown = await kv.put("restart", "r", [{ key: b("k"), value: b("x") }], {}).catch((e) => e);
    expect(isPrismError(write, "Unavailable")).toBe(true);
    expect((await backend.health(AbortSignal.timeout(1000))).ok).toBe(false);
    // Well under one request timeout (5 s): the client knows the connection is gone and does not wait.
    expect(Date.now() - started).toBeLessThan(2_500);

    server = start(port);
    await waitHealthy(backend, 10_000);
    const { items } = await kv.get("restart", "r", { kind: "all" }, ALL);
    expect(items.map((item) => Buffer.from(item.value).toString())).toEqual(["before"]);
    await kv.put("restart", "r", [{ key: b("k"), value: b("after") }], {});
    expect(Buffer.from((await kv.get("restart", "r", { kind: "all" }, ALL)).items[0]!.value).toString()).toBe(
      "after",
    );
  });
});
