import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";

const REPO = resolve(import.meta.dirname, "../..");
const TSX = join(REPO, "node_modules/.bin/tsx");

/** A gateway running as its own process, as users run it. */
export interface GatewayProcess {
  /** `127.0.0.1:port` it listens on. */
  address: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `gateway/src/main.ts` with `config` (written to a YAML file) on a free loopback port and
 * waits until it says it is listening. `dataDir` is reused when given (for restart tests).
 */
export async function startGatewayProcess(
  config: Record<string, unknown>,
  options: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<GatewayProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "prism-e2e-"));
  const file = join(dataDir, "gateway.yaml");
  writeFileSync(file, stringify({ listen: { grpc: "127.0.0.1:0" }, dataDir, logLevel: "info", ...config }));
  const child = spawn(TSX, [join(REPO, "gateway/src/main.ts"), "--config", file], {
    cwd: REPO,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const address = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`gateway did not start within 30 s:\n${output}`)), 30_000);
    const poll = setInterval(() => {
      const match = /listening on (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        clearInterval(poll);
        done(match[1]!);
      }
    }, 25);
    exited.then((code) => {
      clearTimeout(timer);
      clearInterval(poll);
      fail(new Error(`gateway exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    address,
    dataDir,
    child,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** Removes a data directory made by `startGatewayProcess`. */
export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
