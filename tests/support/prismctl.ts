import { spawn } from "node:child_process";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dirname, "../..");

export interface PrismctlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs prismctl as a process against `address`; resolves with its exit code and output. Not
 * spawnSync: a test worker blocked for a whole command cannot answer vitest, which then fails
 * the run on a loaded machine.
 *
 * @example expect((await runPrismctl(gateway.address, ["kv", "get", "ns", "id"])).code).toBe(0)
 */
export function runPrismctl(address: string, args: readonly string[]): Promise<PrismctlRun> {
  const child = spawn(
    join(REPO, "node_modules/.bin/tsx"),
    [join(REPO, "prismctl/src/main.ts"), "--addr", address, ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}
