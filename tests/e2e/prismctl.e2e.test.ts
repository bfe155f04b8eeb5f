import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { runPrismctl } from "../support/prismctl.js";

const REPO = resolve(import.meta.dirname, "../..");
let gateway: GatewayProcess;

/** Runs prismctl as a user would, against the test gateway. */
function prismctl(...args: string[]) {
  return runPrismctl(gateway.address, args);
}

beforeAll(async () => {
  gateway = await startGatewayProcess({
    backends: { local: { type: "sqlite", path: "ctl.db" }, mem: { type: "memory" } },
    namespaces: [
      { name: "ctl-kv", pattern: "keyvalue", backend: "local" },
      { name: "ctl-ts", pattern: "timeseries", backend: "mem" },
      { name: "ctl-graph", pattern: "graph", backend: "mem" },
    ],
  });
});
afterAll(async () => {
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

// Every prismctl call is a fresh tsx process: seconds each on a loaded machine.
describe("prismctl", { timeout: 120_000 }, () => {
  it("puts, gets, scans and deletes values", async () => {
    expect(await prismctl("kv", "put", "ctl-kv", "user-1", "hello")).toMatchObject({
      code: 0,
      stdout: "ok\n",
    });
    expect((await prismctl("kv", "put", "ctl-kv", "user-1", "blue", "--key", "colour")).code).toBe(0);
    expect((await prismctl("kv", "get", "ctl-kv", "user-1")).stdout).toBe("hello\ncolour\tblue\n");
    expect((await prismctl("kv", "scan", "ctl-kv")).stdout).toBe("user-1\t\thello\nuser-1\tcolour\tblue\n");
    expect((await prismctl("kv", "delete", "ctl-kv", "user-1")).code).toBe(0);
    expect((await prismctl("kv", "get", "ctl-kv", "user-1")).stdout).toBe("");
  });

  it("applies a namespace from YAML that then serves requests", async () => {
    const file = join(gateway.dataDir, "ns.yaml");
    writeFileSync(file, "name: ctl-applied\npattern: keyvalue\nbackend: local\n");
    expect((await prismctl("namespace", "apply", "-f", file, "--dry-run")).stdout).toBe(
      "ctl-applied valid (v0)\n",
    );
    expect((await prismctl("namespace", "apply", "-f", file)).stdout).toBe("ctl-applied created (v1)\n");
    expect((await prismctl("namespace", "list")).stdout).toContain("ctl-applied\tlocal\tv1");
    expect((await prismctl("kv", "put", "ctl-applied", "a", "b")).code).toBe(0);
    expect((await prismctl("backend", "list")).stdout).toMatch(/^local\tsqlite\tSERVING\t.*\tclosed$/m);
  });

  it("prints the reason of a failure with a hint and exits by its kind; usage errors exit 2", async () => {
    const missing = await prismctl("kv", "get", "no-such-ns", "x");
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe(
      'error: namespace "no-such-ns" does not exist (NAMESPACE_NOT_FOUND)\nhint: `prismctl namespace list` shows the namespaces\n',
    );
    const wrong = await prismctl("ts", "read", "ctl-kv", "cpu");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /\(WRONG_PATTERN\)\nhint: `prismctl namespace list` shows each namespace's pattern/,
    );
    const usage = await prismctl("kv", "put", "ctl-kv");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe(
      "error: missing ID VALUE\nusage: prismctl kv put [NAMESPACE] ID VALUE [options]\nhint: prismctl kv put --help\n",
    );
    expect((await prismctl("bogus")).code).toBe(2);
    const down = await runPrismctl("127.0.0.1:1", ["namespace", "list"]);
    expect(down.code).toBe(5);
    expect(down.stderr).toMatch(
      /\(UNAVAILABLE\)\nhint: is a gateway listening on 127\.0\.0\.1:1\? start one with `pnpm start`/,
    );
  });

  it("writes, reads and tails events until Ctrl-C, as text or JSON lines", async () => {
    const write = (...args: string[]) => prismctl("ts", "write", "ctl-ts", "cpu", ...args);
    const hourAgo = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const [t1, t2, from] = [iso(hourAgo), iso(hourAgo + 1000), iso(hourAgo - 60_000)];
    expect(await write("42", "--id", "e1", "--time", t1, "--tag", "host=a")).toMatchObject({
      code: 0,
      stdout: "written 1, duplicates 0\n",
    });
    expect((await write("42", "--id", "e1", "--time", t1)).stdout).toBe("written 0, duplicates 1\n");
    expect((await write("43", "--id", "e2", "--time", t2, "--tag", "host=b")).code).toBe(0);
    const read = await prismctl("ts", "read", "ctl-ts", "cpu", "--start", from);
    expect(read.stdout).toBe(`${t1}\te1\t42\thost=a\n${t2}\te2\t43\thost=b\n`);
    const json = await prismctl("ts", "read", "ctl-ts", "cpu", "--start", from, "--desc", "-o", "json");
    expect(
      json.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).eventId),
    ).toEqual(["e2", "e1"]);
    expect((await prismctl("ts", "read", "ctl-ts", "cpu", "--start", "yesterday-ish")).code).toBe(2);

    const tail = spawn(
      join(REPO, "node_modules/.bin/tsx"),
      [
        join(REPO, "prismctl/src/main.ts"),
        "--addr",
        gateway.address,
        "ts",
        "tail",
        "ctl-ts",
        "cpu",
        "--start",
        from,
        "--tag",
        "host=b",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    tail.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<number | null>((done) => tail.once("exit", (code) => done(code)));
    await until(
      () => out.includes("\te2\t"),
      () => out,
    );
    expect((await write("44", "--id", "e3", "--tag", "host=b")).code).toBe(0);
    expect((await write("45", "--id", "e4", "--tag", "host=a")).code).toBe(0);
    await until(
      () => out.includes("\te3\t"),
      () => out,
    );
    tail.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(
      out
        .split("\n")
        .filter(Boolean)
        .map((line) => line.split("\t")[1]),
    ).toEqual(["e2", "e3"]);
  });

  it("upserts a small social graph, then lists neighbors, traverses two hops and finds a path", async () => {
    const g = (...args: string[]) => prismctl("graph", ...args);
    for (const [id, born] of [
      ["ada", "1815"],
      ["bob", "1990"],
      ["cy", "1985"],
      ["dee", "2001"],
    ]) {
      expect(
        (await g("upsert-node", "ctl-graph", id!, "person", "--int", `born=${born}`, "--prop", `name=${id}`))
          .stdout,
      ).toBe("upserted 1\n");
    }
    for (const [from, to] of [
      ["ada", "bob"],
      ["bob", "cy"],
      ["cy", "dee"],
      ["cy", "ada"],
    ]) {
      expect((await g("upsert-edge", "ctl-graph", from!, "knows", to!, "--double", "weight=0.5")).code).toBe(
        0,
      );
    }
    expect((await g("get", "ctl-graph", "ada", "nobody")).stdout).toBe(
      "ada\tperson\tborn=1815,name=ada\nnobody\t(not found)\n",
    );
    expect((await g("neighbors", "ctl-graph", "cy")).stdout).toBe(
      "cy -knows-> ada\tada\tperson\tborn=1815,name=ada\ncy -knows-> dee\tdee\tperson\tborn=2001,name=dee\n",
    );
    expect((await g("neighbors", "ctl-graph", "ada", "--in")).stdout).toContain("cy -knows-> ada\tcy\t");
    const hops = await g("traverse", "ctl-graph", "ada", "--depth", "2", "-o", "json");
    const steps = hops.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(steps.map((step) => [step.depth ?? 0, step.node.id])).toEqual([
      [0, "ada"],
      [1, "bob"],
      [2, "cy"],
    ]);
    expect((await g("path", "ctl-graph", "ada", "dee")).stdout).toBe(
      "ada -knows-> bob -knows-> cy -knows-> dee\n",
    );
    expect((await g("path", "ctl-graph", "dee", "ada")).stdout).toBe("no path\n");
    const missing = await g("traverse", "ctl-graph", "ada");
    expect(missing.code).toBe(2);
  });
});

async function until(condition: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`prismctl did not print what was expected:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
