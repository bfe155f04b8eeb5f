import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";

const REPO = resolve(import.meta.dirname, "../..");
let gateway: GatewayProcess;

/** Runs prismctl as a user would, against the test gateway. */
function prismctl(...args: string[]) {
  const run = spawnSync(
    join(REPO, "node_modules/.bin/tsx"),
    [join(REPO, "prismctl/src/main.ts"), "--addr", gateway.address, ...args],
    {
      encoding: "utf8",
    },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

beforeAll(async () => {
  gateway = await startGatewayProcess({
    backends: { local: { type: "sqlite", path: "ctl.db" } },
    namespaces: [{ name: "ctl-kv", pattern: "keyvalue", backend: "local" }],
  });
});
afterAll(async () => {
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

describe("prismctl", () => {
  it("puts, gets, scans and deletes values", () => {
    expect(prismctl("kv", "put", "ctl-kv", "user-1", "hello")).toMatchObject({ code: 0, stdout: "ok\n" });
    expect(prismctl("kv", "put", "ctl-kv", "user-1", "blue", "--key", "colour").code).toBe(0);
    expect(prismctl("kv", "get", "ctl-kv", "user-1").stdout).toBe("hello\ncolour\tblue\n");
    expect(prismctl("kv", "scan", "ctl-kv").stdout).toBe("user-1\t\thello\nuser-1\tcolour\tblue\n");
    expect(prismctl("kv", "delete", "ctl-kv", "user-1").code).toBe(0);
    expect(prismctl("kv", "get", "ctl-kv", "user-1").stdout).toBe("");
  });

  it("applies a namespace from YAML that then serves requests", () => {
    const file = join(gateway.dataDir, "ns.yaml");
    writeFileSync(file, "name: ctl-applied\npattern: keyvalue\nbackend: local\n");
    expect(prismctl("namespace", "apply", "-f", file, "--dry-run").stdout).toBe("ctl-applied valid (v0)\n");
    expect(prismctl("namespace", "apply", "-f", file).stdout).toBe("ctl-applied created (v1)\n");
    expect(prismctl("namespace", "list").stdout).toContain("ctl-applied\tlocal\tv1");
    expect(prismctl("kv", "put", "ctl-applied", "a", "b").code).toBe(0);
    expect(prismctl("backend", "list").stdout).toMatch(/^local\tsqlite\tSERVING\t/m);
  });

  it("prints the status and reason of a failure and exits 1; usage errors exit 2", () => {
    const missing = prismctl("kv", "get", "no-such-ns", "x");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("(NAMESPACE_NOT_FOUND)");
    expect(prismctl("kv", "put", "ctl-kv").code).toBe(2);
    expect(prismctl("bogus").code).toBe(2);
  });
});
