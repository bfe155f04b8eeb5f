import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { checkHealth } from "@prism/gateway";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { stackEndpoints } from "@prism/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { buildApp, FORBIDDEN_PACKAGES, findPackages } from "../../deploy/build-app.js";
import { b, s } from "../support/bytes.js";

/**
 * The production build (ADR-0027): `deploy/build-app.ts` compiles the workspace (`pnpm build`) and
 * lays out the runtime the image ships in a temp dir, outside the workspace so nothing resolves
 * from its node_modules; then plain `node` — no loader, no NODE_OPTIONS — runs the `prism` bin.
 * KeyValue over gRPC on SQLite (the native addon) and PostgreSQL (a lazily imported driver), the
 * health check in process and as `prism healthcheck`, the admin UI bundled from `ui/` by the
 * compiled admin server, and a SIGTERM shutdown.
 */
const work = mkdtempSync(join(tmpdir(), "prism-compiled-"));
const app = join(work, "app");
const dataDir = join(work, "data");
let bin: string;
let gateway: ChildProcess;
let output = "";
let kv: PromiseClient<typeof KeyValueService.method> & { close(): void };

/** The environment of a process in the image: no loader, no test or tsx settings. */
function runtimeEnv(): NodeJS.ProcessEnv {
  const { postgresUrl } = stackEndpoints();
  return { PATH: process.env.PATH, HOME: work, PRISM_TEST_POSTGRES_URL: postgresUrl };
}

/** The `address` of the first JSON log line with message `msg`. */
async function logged(msg: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    for (const line of output.split("\n")) {
      if (!line.includes(`"msg":"${msg}"`)) continue;
      const { address } = JSON.parse(line) as { address?: string };
      if (address) return address;
    }
    if (gateway.exitCode !== null) throw new Error(`the compiled gateway exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the compiled gateway never logged "${msg}":\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function listening(): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const match = /prism gateway listening on (\S+)/.exec(output);
    if (match) return match[1]!;
    if (gateway.exitCode !== null) throw new Error(`the compiled gateway exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the compiled gateway did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  bin = await buildApp(app, { quiet: true });
  const config = join(work, "gateway.yaml");
  writeFileSync(
    config,
    stringify({
      listen: { grpc: "127.0.0.1:0" },
      dataDir,
      logLevel: "info",
      metrics: { listen: "127.0.0.1:0" },
      admin: { listen: "127.0.0.1:0" },
      backends: {
        local: { type: "sqlite", path: "compiled.db" },
        pg: {
          type: "postgres",
          url: "env:PRISM_TEST_POSTGRES_URL",
          schema: `compiled_${randomBytes(3).toString("hex")}`,
        },
      },
      namespaces: [
        { name: "compiled-sqlite", pattern: "keyvalue", backend: "local" },
        { name: "compiled-pg", pattern: "keyvalue", backend: "pg" },
      ],
    }),
  );
  gateway = spawn(process.execPath, [bin, "gateway", "--config", config], {
    cwd: work,
    env: runtimeEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  gateway.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  gateway.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  kv = createPromiseClient(KeyValueService, { address: await listening() });
}, 600_000);

afterAll(() => {
  kv?.close();
  if (gateway && gateway.exitCode === null) gateway.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

describe("the compiled gateway (pnpm build, deploy/build-app.ts, plain node)", () => {
  it("lays out a runtime without tsx or typescript, and no TypeScript but the admin UI's", () => {
    expect(findPackages(app, FORBIDDEN_PACKAGES)).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(app, "package.json"), "utf8")) as { bin: object };
    expect(manifest.bin).toMatchObject({ prism: "./dist/cli.js" });
    // The process runs with no loader: its command line is node and the bin.
    const cmdline = readFileSync(`/proc/${gateway.pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    expect(cmdline).toEqual([process.execPath, bin, "gateway", "--config", join(work, "gateway.yaml")]);
  });

  it.each(["compiled-sqlite", "compiled-pg"])("puts and gets over gRPC on %s", async (namespace) => {
    await kv.put({ namespace, id: "user-1", items: [{ key: b("name"), value: b("Ada") }] });
    const got = await kv.get({ namespace, id: "user-1" });
    expect(got.items.map((item) => [s(item.key), s(item.value)])).toEqual([["name", "Ada"]]);
  });

  it("answers health checks in process and through `prism healthcheck`", async () => {
    const address = await listening();
    expect(await checkHealth(address)).toEqual({ status: "SERVING" });
    const { stdout } = await promisify(execFile)(process.execPath, [bin, "healthcheck", address], {
      cwd: work,
      env: runtimeEnv(),
    });
    expect(stdout).toBe(`${address}: SERVING\n`);
  });

  it("serves the admin UI, bundled from admin/ui by the compiled admin server", async () => {
    const admin = await logged("prism admin UI listening");
    const page = await fetch(`http://${admin}/`);
    expect(page.status).toBe(200);
    const script = /src="(\/assets\/app\.[0-9a-f]+\.js)"/.exec(await page.text())?.[1];
    expect(script).toBeDefined();
    const js = await fetch(`http://${admin}${script}`);
    expect(js.status).toBe(200);
    expect((await js.text()).length).toBeGreaterThan(10_000);
  });

  it("stops on SIGTERM with exit code 0", async () => {
    const exited = new Promise<number | null>((done) => gateway.once("exit", (code) => done(code)));
    gateway.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output).toMatch(/SIGTERM, shutting down/);
  });
});
