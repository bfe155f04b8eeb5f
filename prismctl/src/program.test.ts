import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { GraphService } from "@prism/proto/prism/graph/v1/graph";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import type { Runtime } from "./cli.js";
import { commandPath } from "./command-kit.js";
import { EXIT_CODES } from "./errors.js";
import { buildProgram, runPrismctl } from "./program.js";

/** prismctl in this process, with its own environment and captured output. */
async function run(args: string[], env: NodeJS.ProcessEnv = { PRISMCTL_CONFIG: "/dev/null" }) {
  let stdout = "";
  let stderr = "";
  const runtime: Runtime = {
    env,
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    progress: { write: () => undefined },
  };
  const code = await runPrismctl(args, runtime);
  return { code, stdout, stderr };
}

function leaves(): Command[] {
  const program = buildProgram({ env: {}, stdout: () => {}, stderr: () => {}, progress: { write: () => 0 } });
  const all: Command[] = [];
  const visit = (cmd: Command) => {
    if ((cmd as Command & { _actionHandler?: unknown })._actionHandler) all.push(cmd);
    for (const sub of cmd.commands) visit(sub);
  };
  visit(program);
  return all;
}

describe("the command tree", () => {
  it("prismctl --help lists every command, the NAMESPACE rule, the settings and the exit codes", async () => {
    const { code, stdout } = await run(["--help"]);
    expect(code).toBe(0);
    for (const cmd of leaves()) expect(stdout).toContain(`  ${commandPath(cmd)} ${cmd.usage()}\n`);
    expect(stdout).toContain("prismctl shadow promote [NAMESPACE] [options]");
    expect(stdout).toContain("NAMESPACE is the first argument, or -n/--namespace NS");
    expect(stdout).toMatch(/--addr +PRISM_ADDR +default 127\.0\.0\.1:8980/);
    for (const { code: exit, meaning } of EXIT_CODES) expect(stdout).toContain(`  ${exit}  ${meaning}\n`);
  });

  it("gives every command a description and every argument and option one, shown by its --help", async () => {
    const all = leaves();
    expect(all.length).toBeGreaterThan(45);
    for (const cmd of all) {
      const where = commandPath(cmd);
      expect(cmd.description(), where).not.toBe("");
      const help = cmd.helpInformation();
      const names = [cmd.name(), ...cmd.aliases()].join("|");
      expect(help, where).toContain(`Usage: ${commandPath(cmd.parent!)} ${names} ${cmd.usage()}`);
      for (const argument of cmd.registeredArguments) {
        expect(argument.description, `${where} ${argument.name()}`).not.toBe("");
        expect(help).toContain(`  ${argument.name()} `);
      }
      for (const option of cmd.options) {
        expect(option.description, `${where} ${option.flags}`).not.toBe("");
        expect(help).toContain(option.flags);
      }
      // Global options are listed in every command's help.
      expect(help, where).toContain("--addr <host:port>");
    }
    const { code, stdout } = await run(["kv", "import", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("-f, --file <file>");
    expect(stdout).toContain('{"id": "user-1", "key": "colour", "value": "blue"}');
  });

  it("calls every RPC of the four services from some command", () => {
    const sources = readdirSync(import.meta.dirname)
      .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
      .map((file) => readFileSync(join(import.meta.dirname, file), "utf8"))
      .join("\n");
    const missing = [AdminService, KeyValueService, TimeSeriesService, GraphService].flatMap((service) =>
      service.methods
        .filter((method) => !sources.includes(`.${method.localName}(`))
        .map((method) => `${service.typeName}.${method.name}`),
    );
    expect(missing).toEqual([]);
  });
});

describe("usage errors exit 2 with what is wrong", () => {
  it.each([
    [["bogus"], "unknown command 'bogus'"],
    [[], "Usage: prismctl"],
    [["kv"], "Usage: prismctl kv"],
    [["kv", "put", "ns"], "error: missing ID VALUE\nusage: prismctl kv put [NAMESPACE] ID VALUE [options]"],
    [["kv", "put"], "missing NAMESPACE ID VALUE (a namespace may also come from -n NS"],
    [["kv", "get", "-n", "ns", "ns", "id"], "too many arguments: id"],
    [["kv", "get", "ns", "id", "--bogus"], "unknown option '--bogus'"],
    [["kv", "get", "ns", "id", "--key", "a", "--range", "a.."], "--key and --range exclude each other"],
    [["kv", "get", "ns", "id", "--range", "ab"], "a range is FROM..TO, FROM.. or ..TO"],
    [["kv", "mutate", "ns", "id"], "no mutations: give --put, --delete-key or --delete-range"],
    [["kv", "scan", "ns", "--limit", "0"], "--limit: a whole number from 1 to"],
    [["kv", "import", "ns"], "-f FILE is required"],
    [["-o", "xml", "namespace", "list"], "Allowed choices are table, json, yaml"],
    [["ts", "read", "ns", "s", "--start", "soon"], "TIME: ISO 8601, epoch ms, now, or -15m/-2h/-1d"],
    [["graph", "traverse", "ns", "a"], "--depth N is required"],
    [["completion", "tcsh"], "Allowed choices are bash, zsh, fish"],
    [["--tls-cert", "c.pem", "whoami"], "--tls-cert and --tls-key go together"],
    [["--no-tls", "--tls-ca", "ca.pem", "whoami"], "--no-tls contradicts --tls-ca"],
    [["--context", "nope", "whoami"], 'no context "nope"'],
  ])("prismctl %j", async (args, message) => {
    const { code, stderr, stdout } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stdout).toBe("");
  });
});
