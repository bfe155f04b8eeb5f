import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DRIVERS } from "../drivers.js";
import { adminEnabled, ConfigError, loadConfig } from "./load-config.js";

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

describe("admin UI config", () => {
  const base = "backends: { mem: { type: memory } }\n";
  const oidc =
    "auth: { mode: oidc, oidc: { issuer: 'https://id.example.com', audience: prism }, adminGroups: [ops] }\n";
  const enabledIn = (yaml: string, env: Record<string, string> = {}) =>
    adminEnabled(loadConfig({ file: configFile(yaml), env }, DRIVERS));

  it("serves on 127.0.0.1:8981 by default with auth off, PRISM_ADMIN_ADDR overriding", () => {
    expect(loadConfig({ file: configFile(base) }, DRIVERS).admin.listen).toBe("127.0.0.1:8981");
    expect(enabledIn(base)).toBe(true);
    expect(
      loadConfig({ file: configFile(base), env: { PRISM_ADMIN_ADDR: "127.0.0.1:0" } }, DRIVERS).admin.listen,
    ).toBe("127.0.0.1:0");
  });

  it("refuses a non-loopback UI without sign-in, and sign-in it cannot do", () => {
    expect(problemsOf(`${base}admin: { listen: "0.0.0.0:8981" }\n`)).toEqual([
      "admin.listen: 0.0.0.0:8981 is not a loopback address; refusing to serve the admin UI on it without authentication (set auth.mode oidc)",
    ]);
    expect(problemsOf(`${base}admin: { listen: "0.0.0.0:8981", enabled: false }\n`)).toEqual([]);
    expect(problemsOf(`${base}${oidc}admin: { enabled: true }\n`)).toEqual([
      "admin.oidc: required with auth.mode oidc (the UI's client id at the issuer)",
    ]);
    expect(problemsOf(`${base}${oidc}admin: { listen: "0.0.0.0:8981", oidc: { clientId: ui } }\n`)).toEqual(
      [],
    );
    expect(problemsOf(`${base}${oidc}admin: { oidc: { clientId: ui, clientSecret: hunter2 } }\n`)).toEqual([
      "admin.oidc.clientSecret: must be env:NAME or file:/path",
    ]);
  });

  it("is off by default where it could not sign operators in", () => {
    expect(enabledIn(`${base}${oidc}`)).toBe(false);
    expect(enabledIn(`${base}${oidc}admin: { oidc: { clientId: ui } }\n`)).toBe(true);
  });
});
