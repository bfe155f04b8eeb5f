import { mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../config/load-config.js";
import { DRIVERS } from "../drivers.js";
import { perProcessProblems, workerCount } from "./worker-rules.js";

function load(yaml: string | undefined, env: Record<string, string> = {}) {
  if (yaml === undefined) return loadConfig({ env }, DRIVERS);
  const file = join(mkdtempSync(join(tmpdir(), "prism-workers-")), "gateway.yaml");
  writeFileSync(file, yaml);
  return loadConfig({ file, env }, DRIVERS);
}

function problemsOf(yaml: string | undefined, env: Record<string, string> = {}): string[] {
  try {
    load(yaml, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const BACKENDS = `
listen: { grpc: "127.0.0.1:8990" }
backends:
  lite: { type: sqlite, path: x.db }
  mem: { type: memory }
`;

describe("workers in the config", () => {
  it("defaults to one process; auto is the machine's cores; the environment overrides", () => {
    expect(workerCount(load(undefined))).toBe(1);
    expect(workerCount(load(undefined, { PRISM_WORKERS: "auto" }))).toBe(availableParallelism());
    expect(workerCount(load(`${BACKENDS}workers: 3\n`))).toBe(3);
    expect(workerCount(load(`${BACKENDS}workers: 3\n`, { PRISM_WORKERS: "2" }))).toBe(2);
    expect(problemsOf(undefined, { PRISM_WORKERS: "many" }).join("\n")).toContain("workers");
    expect(problemsOf(undefined, { PRISM_WORKERS: "0" }).join("\n")).toContain("workers");
  });

  it("serves the embedded default with several workers: its memory backend holds no namespace", () => {
    expect(problemsOf(undefined, { PRISM_WORKERS: "2" })).toEqual([]);
  });

  it("refuses, with several workers, every namespace whose state would live in one process", () => {
    const problems = problemsOf(
      `${BACKENDS}
workers: 2
namespaces:
  - { name: cache, pattern: keyvalue, backend: mem }
  - { name: mirrored, pattern: keyvalue, backend: lite, shadow: { backend: mem } }
  - { name: limited, pattern: keyvalue, backend: lite, limits: { rps: 100, concurrency: 10 } }
  - { name: fine, pattern: keyvalue, backend: lite, limits: { max_value_bytes: 1000 } }
`,
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^namespaces\.0 \(cache\) with 2 workers: backend: backend mem is of type memory, .*use a sqlite or postgres backend, or run one worker$/,
      ),
      expect.stringMatching(
        /^namespaces\.1 \(mirrored\) with 2 workers: shadow\.backend: backend mem is of type memory/,
      ),
      expect.stringMatching(
        /^namespaces\.2 \(limited\) with 2 workers: limits\.rps: admission limits are counted in each process/,
      ),
      expect.stringMatching(/^namespaces\.2 \(limited\) with 2 workers: limits\.concurrency: /),
    ]);
    // The same config is fine in one process.
    expect(
      problemsOf(`${BACKENDS}\nnamespaces: [{ name: cache, pattern: keyvalue, backend: mem }]\n`),
    ).toEqual([]);
  });

  it("refuses port 0 with several workers", () => {
    expect(problemsOf(`backends: {}\nlisten: { grpc: "127.0.0.1:0" }\nworkers: 2\n`)).toEqual([
      "listen.grpc: port 0 (any free port) cannot be shared by 2 workers and their restarts; set a fixed port",
    ]);
    expect(problemsOf(`backends: {}\nlisten: { grpc: "127.0.0.1:0" }\n`)).toEqual([]);
  });

  it("names principal_rps too, and nothing for a namespace without per-process state", () => {
    const backends = { lite: { type: "sqlite" }, mem: { type: "memory" } };
    expect(perProcessProblems({ backend: "lite", limits: { principal_rps: 5 } }, backends)).toEqual([
      expect.stringMatching(/^limits\.principal_rps: /),
    ]);
    expect(perProcessProblems({ backend: "lite", limits: { visit_budget: 5 } }, backends)).toEqual([]);
  });
});
