import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { runPrismctl } from "../support/prismctl.js";

/**
 * prismctl's admin and graph commands end to end: traffic counters, namespaces as YAML and JSON,
 * schemas, audit, keys, graph deletes, help and shell completion.
 */
let gateway: GatewayProcess;

function prismctl(...args: string[]) {
  return runPrismctl(gateway.address, args);
}

beforeAll(async () => {
  gateway = await startGatewayProcess({
    backends: { mem: { type: "memory" } },
    namespaces: [
      { name: "adm-kv", pattern: "keyvalue", backend: "mem" },
      { name: "adm-graph", pattern: "graph", backend: "mem" },
    ],
  });
});
afterAll(async () => {
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

// Every prismctl call is a fresh tsx process: seconds each on a loaded machine.
describe("prismctl admin and graph", { timeout: 180_000 }, () => {
  it("shows the traffic per namespace (or says the gateway does not serve it yet)", async () => {
    for (const id of ["a", "b", "c"]) expect((await prismctl("kv", "put", "adm-kv", id, "v")).code).toBe(0);
    expect((await prismctl("kv", "get", "adm-kv", "nope")).code).toBe(0);
    const table = await prismctl("traffic", "adm-kv");
    if (table.code !== 0) {
      // GetTraffic lands in the gateway separately; until then it answers UNIMPLEMENTED.
      expect(table.code).toBe(1);
      expect(table.stderr).toMatch(
        /\((NOT_IMPLEMENTED|UNIMPLEMENTED)\)\nhint: this gateway does not serve that call/,
      );
      return;
    }
    expect(table.stdout).toMatch(/^adm-kv\t4\t0\t[\d.]+m?s\t[≤>][\d.]+m?s\t[≤>][\d.]+m?s\t-\n$/);
    const json = JSON.parse((await prismctl("traffic", "-o", "json")).stdout);
    expect(json.namespaces).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ namespace: "adm-kv", requests: expect.any(String) }),
      ]),
    );
    expect(
      Number(json.namespaces.find((n: { namespace: string }) => n.namespace === "adm-kv").requests),
    ).toBe(4);
  });

  it("prints namespaces, schemas, the audit chain and WhoAmI as table, JSON or YAML", async () => {
    expect((await prismctl("namespace", "list")).stdout).toContain("adm-graph\tmem\tv0\tgraph\n");
    expect((await prismctl("namespace", "get", "adm-kv")).stdout).toMatch(
      /^name\tadm-kv\npattern\tkeyvalue\nbackend\tmem\nversion\tv0\nsource\tconfig file \(read-only\)\n/,
    );
    expect(parse((await prismctl("namespace", "get", "adm-kv", "-o", "yaml")).stdout)).toMatchObject({
      name: "adm-kv",
      pattern: "PATTERN_KEYVALUE",
      backend: "mem",
      source: "NAMESPACE_SOURCE_CONFIG",
    });
    expect(JSON.parse((await prismctl("schema", "list", "-o", "json")).stdout)).toEqual({
      messageNames: [],
      files: [],
    });
    const audit = await prismctl("audit", "verify", "--json");
    expect(JSON.parse(audit.stdout)).toEqual({
      ok: true,
      entriesChecked: "0",
      firstBadSeq: "0",
      problem: "",
    });
    expect((await prismctl("whoami")).stdout).toBe(
      "token\tnone (not logged in)\nsubject\tanonymous\ngroups\t\nadmin\tyes\nauth\tnone\n",
    );
  });

  it("explains what a key rotation needs, and a namespace apply that is read-only", async () => {
    const rotate = await prismctl("keys", "rotate", "adm-kv");
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toMatch(
      /\(KEYRING_NOT_CONFIGURED\)\nhint: the gateway's config needs pii\.keyring/,
    );
    const file = join(gateway.dataDir, "ns.yaml");
    writeFileSync(file, "name: adm-kv\npattern: keyvalue\nbackend: mem\n");
    const apply = await prismctl("namespace", "apply", "-f", file, "-o", "json");
    expect(apply.code).toBe(1);
    expect(apply.stdout).toBe("");
    expect(apply.stderr).toContain(
      "(NAMESPACE_READ_ONLY)\nhint: this namespace is declared in the gateway's config file",
    );
  });

  it("deletes graph edges and nodes (and with them their edges)", async () => {
    const g = (...args: string[]) => prismctl("graph", ...args);
    for (const id of ["a", "b", "c"]) expect((await g("upsert-node", "adm-graph", id, "n")).code).toBe(0);
    for (const [from, to] of [
      ["a", "b"],
      ["b", "c"],
      ["a", "c"],
    ]) {
      expect((await g("upsert-edge", "adm-graph", from!, "to", to!)).code).toBe(0);
    }
    expect((await g("delete-edge", "adm-graph", "a", "to", "b")).stdout).toBe("deleted 1\n");
    expect((await g("neighbors", "adm-graph", "a")).stdout).toBe("a -to-> c\tc\tn\t\n");
    expect(JSON.parse((await g("delete-node", "adm-graph", "c", "zz", "-o", "json")).stdout)).toEqual({
      deleted: 1,
    });
    expect((await g("neighbors", "adm-graph", "b")).stdout).toBe("");
    expect((await g("get", "adm-graph", "b", "c")).stdout).toBe("b\tn\t\nc\t(not found)\n");
    const path = await g("path", "adm-graph", "a", "zz");
    expect(path.code).toBe(3);
    expect(path.stderr).toContain(
      "(NODE_NOT_FOUND)\nhint: `prismctl graph get NAMESPACE ID` shows whether a node exists",
    );
  });

  it("answers --help for every command, and writes a bash completion script that bash accepts", async () => {
    const help = await prismctl("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("  prismctl graph delete-edge [NAMESPACE] FROM LABEL TO [options]\n");
    expect(help.stdout).toContain("Exit codes:\n  0  done\n");
    const sub = await prismctl("shadow", "promote", "--help");
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/^Usage: prismctl shadow promote \[NAMESPACE\] \[options\]/);
    expect(sub.stdout).toContain("--force");

    const script = await prismctl("completion", "bash");
    expect(script.code).toBe(0);
    const file = join(gateway.dataDir, "prismctl.bash");
    writeFileSync(file, script.stdout);
    await promisify(execFile)("bash", ["-n", file]);
    const { stdout } = await promisify(execFile)("bash", [
      "-c",
      `source '${file}'; COMP_WORDS=(prismctl shadow ''); COMP_CWORD=2; _prismctl; echo "\${COMPREPLY[*]}"`,
    ]);
    expect(stdout.trim().split(" ")).toContain("promote");
  });
});
