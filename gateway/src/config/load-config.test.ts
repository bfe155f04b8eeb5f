import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DRIVERS } from "../drivers.js";
import { ConfigError, loadConfig } from "./load-config.js";

function configFile(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "prism-config-")), "gateway.yaml");
  writeFileSync(file, yaml);
  return file;
}

function problemsOf(yaml: string, env: Record<string, string> = {}): string[] {
  try {
    loadConfig({ file: configFile(yaml), env }, DRIVERS);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("gateway config", () => {
  it("serves the embedded default on loopback with a demo namespace", () => {
    const config = loadConfig({ env: {} }, DRIVERS);
    expect(config.listen.grpc).toBe("127.0.0.1:8980");
    expect(config.namespaces.map((n) => n.name)).toEqual(["demo-kv", "demo-ts", "demo-graph"]);
    expect(Object.isFrozen(config.keyvalue)).toBe(true);
  });

  it("reports every problem at once", () => {
    const problems = problemsOf(`
backends:
  pg: { type: postgres }
  weird: { type: cassandra }
  mem: { type: memory, colour: blue }
namespaces:
  - { name: Bad_Name, pattern: keyvalue, backend: mem }
  - { name: orders, pattern: keyvalue, backend: missing }
  - { name: orders, pattern: keyvalue, backend: mem, shadow: { backend: mem } }
`);
    expect(problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/^namespaces\.0\.name: must be 1-63 characters/)]),
    );
    // Schema errors come first; cross-reference problems once the schema is valid.
    const crossRefs = problemsOf(`
backends:
  pg: { type: postgres }
  weird: { type: cassandra }
  mem: { type: memory, colour: blue }
namespaces:
  - { name: orders, pattern: keyvalue, backend: missing }
  - { name: orders, pattern: keyvalue, backend: mem, shadow: { backend: mem } }
`);
    expect(crossRefs).toEqual([
      "backends.pg.url: required",
      "backends.weird.type: unknown backend type cassandra (known: memory, sqlite, postgres, nats, kafka, neptune)",
      "backends.mem.colour: unknown option (known: sweepIntervalMs)",
      "namespaces.0.backend: unknown backend missing (declared: pg, weird, mem)",
      "namespaces.1.name: duplicate namespace orders",
      "namespaces.1.shadow.backend: must differ from backend",
    ]);
  });

  it("refuses a non-loopback listener without authentication", () => {
    const yaml = "backends: { mem: { type: memory } }\n";
    expect(problemsOf(yaml, { PRISM_GRPC_ADDR: "0.0.0.0:8980" })).toEqual([
      "listen.grpc: 0.0.0.0:8980 is not a loopback address; refusing to serve it without authentication (set auth.mode)",
    ]);
    expect(problemsOf(yaml, { PRISM_GRPC_ADDR: "127.0.0.2:8980" })).toEqual([]);
    expect(problemsOf(yaml, { PRISM_GRPC_ADDR: "[::1]:8980" })).toEqual([]);
  });

  it("rejects a namespace on a backend that does not serve its pattern", () => {
    expect(
      problemsOf(
        "backends: { k: { type: kafka, brokers: 127.0.0.1:1 } }\nnamespaces: [{ name: g, pattern: graph, backend: k }]\n",
      ),
    ).toEqual(["namespaces.0.backend: backend k (kafka) does not serve the graph pattern"]);
  });

  it("names the file when YAML does not parse", () => {
    expect(problemsOf("backends: [unclosed")[0]).toMatch(/gateway\.yaml: /);
  });
});
