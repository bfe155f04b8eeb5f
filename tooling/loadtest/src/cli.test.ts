import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./gateway-process.js";
import type { LoadtestResult } from "./result.js";
import type { SoakReport } from "./soak-report.js";

/** `pnpm loadtest` / `pnpm soak` as users run them, as child processes (each spawns its gateway). */
function run(
  entry: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, entry), ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stdout, stderr })));
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const OPERATIONS = [
  "kv.put",
  "kv.get",
  "kv.scan",
  "ts.write",
  "ts.read",
  "graph.upsert",
  "graph.neighbors",
  "graph.traverse",
];

describe("pnpm loadtest", () => {
  const dir = mkdtempSync(join(tmpdir(), "loadtest-cli-"));
  // Low rate: this checks that every operation works end to end, not how fast (CI machines are shared).
  const scenario = join(dir, "e2e.yaml");
  writeFileSync(
    scenario,
    [
      "name: e2e",
      "target: { gateway: {} }",
      "durationSeconds: 3",
      "warmupSeconds: 1",
      "rate: 40",
      "connections: 2",
      "operations:",
      "  - { op: kv.put, keys: 100 }",
      "  - { op: kv.get, keys: 100, weight: 2 }",
      "  - { op: kv.scan, keys: 100, records: 5 }",
      "  - { op: ts.write, batchSize: 5 }",
      "  - { op: ts.read }",
      "  - { op: graph.upsert, nodes: 50 }",
      "  - { op: graph.neighbors, nodes: 50 }",
      "  - { op: graph.traverse, nodes: 50, depth: 2 }",
    ].join("\n"),
  );

  it("runs a scenario against a spawned gateway: every operation, no errors, result.json and a PNG", async () => {
    const out = join(dir, "out");
    const { code, stdout, stderr } = await run("loadtest-main.ts", [scenario, "--out", out]);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as LoadtestResult;
    expect(Object.keys(result.operations).sort()).toEqual([...OPERATIONS].sort());
    for (const [name, op] of Object.entries(result.operations)) {
      expect(op.count, name).toBeGreaterThan(0);
      expect(op.errors, name).toEqual({});
      expect(op.latencyMs.p99, name).toBeGreaterThan(0);
    }
    expect(result.offeredRate).toBe(40);
    expect(result.timeline.length).toBeGreaterThan(0);
    expect(readFileSync(join(out, "latency.png")).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(stdout).toMatch(/kv\.get\s+\d+/);

    // The same scenario against a baseline no run can meet: a regression, exit 1.
    const baseline = join(dir, "baseline.json");
    for (const op of Object.values(result.operations)) op.latencyMs = { ...op.latencyMs, p99: 0.001 };
    writeFileSync(baseline, JSON.stringify(result));
    const again = await run("loadtest-main.ts", [
      scenario,
      "--out",
      join(dir, "again"),
      "--baseline",
      baseline,
    ]);
    expect(again.code, again.stderr).toBe(1);
    expect(again.stdout).toContain("REGRESSION: p99");
  }, 240_000);

  it("exits 2 with every problem on bad input", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "name: bad name\nrate: -5\noperations: [{ op: kv.nope }]\n");
    const { code, stderr } = await run("loadtest-main.ts", [bad]);
    expect(code).toBe(2);
    expect(stderr).toContain("name:");
    expect(stderr).toContain("rate:");
    expect(stderr).toContain("durationSeconds:");
    expect(stderr).toContain("operations.0.op:");
    expect((await run("loadtest-main.ts", [scenario, "--tolerance", "lots"])).code).toBe(2);
    expect((await run("loadtest-main.ts", [scenario, "--baseline", join(dir, "none.json")])).code).toBe(2);
  }, 60_000);
});

describe("pnpm soak", () => {
  it("samples a short soak and writes soak.json and soak.png", async () => {
    const out = mkdtempSync(join(tmpdir(), "soak-cli-"));
    const { code, stderr } = await run("soak-main.ts", ["--minutes", "0.2", "--rate", "40", "--out", out]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, "soak.json"), "utf8")) as SoakReport;
    expect(report.samples.length).toBeGreaterThanOrEqual(8);
    for (const sample of report.samples) {
      expect(sample.rssMiB).toBeGreaterThan(10);
      expect(sample.heapUsedMiB).toBeGreaterThan(1);
      expect(sample.lagP99Ms).not.toBeNull();
    }
    expect(report.samples.some((sample) => sample.p99Ms !== null)).toBe(true);
    expect(Object.keys(report.trends)).toEqual(["rssMiB", "heapUsedMiB", "p99Ms"]);
    expect(report.bounds.rssMiBPerMin).toBeGreaterThan(0);
    expect(readFileSync(join(out, "soak.png")).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(stderr).toMatch(/soak 0:\d\d \/ 0:12 .*RSS/);
  }, 180_000);
});
