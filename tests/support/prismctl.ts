import { spawn } from "node:child_process";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dirname, "../..");

export interface PrismctlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface PrismctlOptions {
  /**
   * Environment variables over the test process's. PRISMCTL_CONFIG defaults to /dev/null (no
   * contexts): the tester's own contexts file must not change what a test sees.
   */
  env?: Record<string, string>;
  /** Written to prismctl's stdin, which is then closed (default: no stdin). */
  stdin?: string;
}

/**
 * Runs prismctl as a process against `address` (`--addr`; undefined: none, as when a context or
 * PRISM_ADDR gives it); resolves with its exit code and output. Not spawnSync: a test worker
 * blocked for a whole command cannot answer vitest, which then fails the run on a loaded machine.
 *
 * @example expect((await runPrismctl(gateway.address, ["kv", "get", "ns", "id"])).code).toBe(0)
 */
export function runPrismctl(
  address: string | undefined,
  args: readonly string[],
  options: PrismctlOptions = {},
): Promise<PrismctlRun> {
  const child = spawn(
    join(REPO, "node_modules/.bin/tsx"),
    [join(REPO, "prismctl/src/main.ts"), ...(address === undefined ? [] : ["--addr", address]), ...args],
    {
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: { ...process.env, PRISMCTL_CONFIG: "/dev/null", ...options.env },
    },
  );
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}
