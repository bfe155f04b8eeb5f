import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completionScript } from "./completion.js";
import { buildProgram } from "./program.js";

const run = promisify(execFile);
const program = buildProgram({ env: {}, stdout: () => {}, stderr: () => {}, progress: { write: () => 0 } });
let dir: string;
let bashFile: string;

/** What bash completes for the words typed so far (the last one being completed). */
async function bashCompletes(...words: string[]): Promise<string[]> {
  const array = ["prismctl", ...words].map((word) => `'${word}'`).join(" ");
  const { stdout } = await run("bash", [
    "-c",
    `source '${bashFile}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length}; _prismctl; printf '%s\\n' "\${COMPREPLY[@]}"`,
  ]);
  return stdout.split("\n").filter(Boolean);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "prismctl-completion-"));
  bashFile = join(dir, "prismctl.bash");
  writeFileSync(bashFile, completionScript(program, "bash"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bash completion", () => {
  it("is a valid script", async () => {
    await expect(run("bash", ["-n", bashFile])).resolves.toBeDefined();
  });

  it("completes commands, subcommands (aliases too) and their options, global ones included", async () => {
    expect(await bashCompletes("")).toEqual(
      expect.arrayContaining(["kv", "shadow", "traffic", "completion"]),
    );
    expect(await bashCompletes("sha")).toEqual(["shadow"]);
    expect(await bashCompletes("shadow", "")).toEqual(
      expect.arrayContaining(["start", "mode", "status", "verify", "promote", "rollback", "stop"]),
    );
    expect(await bashCompletes("shadow", "pro")).toEqual(["promote"]);
    expect(await bashCompletes("kv", "d")).toEqual(["delete", "del"]);
    const options = await bashCompletes("kv", "get", "--");
    expect(options).toEqual(
      expect.arrayContaining(["--key", "--range", "--page-size", "--addr", "--namespace"]),
    );
    expect(options).not.toContain("--depth");
  });

  it("skips options' values and arguments when finding the command, and completes -o and choices", async () => {
    expect(await bashCompletes("--addr", "h:1", "-n", "ns", "graph", "traverse", "ns", "a", "--d")).toEqual([
      "--depth",
    ]);
    expect(await bashCompletes("kv", "get", "-o", "")).toEqual(["table", "json", "yaml"]);
    expect(await bashCompletes("completion", "")).toEqual(expect.arrayContaining(["bash", "zsh", "fish"]));
    // A value is not a command: the namespace "kv" does not reopen kv's commands.
    expect(await bashCompletes("shadow", "status", "kv", "")).not.toContain("put");
  });
});

describe("zsh and fish completion", () => {
  it("are generated from the same tree", () => {
    const zsh = completionScript(program, "zsh");
    expect(zsh).toMatch(/^#compdef prismctl\n/);
    expect(zsh).toContain("('/shadow') candidates=(");
    expect(zsh).toContain("'promote:Swap the backends");
    expect(zsh).toContain("compdef _prismctl prismctl");
    const fish = completionScript(program, "fish");
    expect(fish).toContain(`complete -c prismctl -n '__prismctl_at '\\''/shadow'\\''' -a 'promote'`);
    expect(fish).toContain("complete -c prismctl -s o -l output -x -a 'table json yaml'");
  });
});
