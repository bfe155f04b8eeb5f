import { spawn } from "node:child_process";
import { accessSync, appendFileSync, closeSync, constants, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { LaunchSpec, RunAs } from "./server.js";

/** Options for {@link run}. */
export interface RunOptions {
  /** @example "/repo/.stack/kafka" */
  readonly cwd?: string;
  /** Extra environment merged over this process's. @example { DEBIAN_FRONTEND: "noninteractive" } */
  readonly env?: Readonly<Record<string, string>>;
  /** Run as another account. @example { uid: 101, gid: 104 } */
  readonly runAs?: RunAs;
  /** Also append the command's output to this file. @example "/repo/.stack/kafka/install.log" */
  readonly logFile?: string;
}

/** Runs a command to completion and resolves its output; rejects with the output's tail when it fails. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      uid: options.runAs?.uid,
      gid: options.runAs?.gid,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-256 * 1024);
      if (options.logFile) appendFileSync(options.logFile, chunk);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (error) =>
      reject(new Error(`cannot run ${command}: ${error.message}`, { cause: error })),
    );
    child.on("close", (code, signal) => {
      if (code === 0) return resolve(output);
      const how = signal ? `killed by ${signal}` : `exit code ${code}`;
      reject(new Error(`${command} ${args.join(" ")} failed (${how}):\n${lastLines(output, 30)}`));
    });
  });
}

/**
 * The absolute path of an executable on PATH, or undefined. The sbin directories are searched too:
 * Debian installs daemons such as nats-server there, and a non-root PATH often lacks them.
 */
export function findOnPath(command: string): string | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter).concat(["/usr/local/sbin", "/usr/sbin", "/sbin"]);
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Starts a server in its own process group, detached from this process so it outlives the CLI,
 * with stdout and stderr appended to `logFile`. Resolves the pid once the OS has started it.
 */
export function spawnDetached(spec: LaunchSpec, logFile: string): Promise<number> {
  appendFileSync(logFile, `\n--- ${new Date().toISOString()} ${spec.command} ${spec.args.join(" ")}\n`);
  const fd = openSync(logFile, "a");
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      uid: spec.runAs?.uid,
      gid: spec.runAs?.gid,
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    return new Promise((resolve, reject) => {
      child.once("error", (error) => reject(new Error(`cannot start ${spec.command}: ${error.message}`)));
      child.once("spawn", () => {
        child.unref();
        resolve(child.pid!);
      });
    });
  } finally {
    closeSync(fd);
  }
}

/** The pid stored in a pid file, or undefined when there is none. */
export function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a live (not zombie) process whose command line contains `marker`. The marker
 * check keeps a stale pid file from matching an unrelated process that reused the pid.
 */
export function isProcessAlive(pid: number, marker: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return false;
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").includes(marker);
  } catch {
    return false;
  }
}

/**
 * Sends `signal`, waits up to `timeoutMs` for the process to exit, then SIGKILLs it.
 * Resolves how it ended.
 */
export async function stopProcess(
  pid: number,
  marker: string,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<"stopped" | "killed" | "not running"> {
  if (!isProcessAlive(pid, marker)) return "not running";
  process.kill(pid, signal);
  if (await waitForExit(pid, marker, timeoutMs)) return "stopped";
  process.kill(pid, "SIGKILL");
  await waitForExit(pid, marker, 10_000);
  return "killed";
}

async function waitForExit(pid: number, marker: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid, marker)) return true;
    await sleep(100);
  }
  return !isProcessAlive(pid, marker);
}

/** Options for {@link waitUntil}. */
export interface WaitOptions {
  /** What is awaited, for the error message. @example "Kafka at 127.0.0.1:19092" */
  readonly what: string;
  /** @example 90_000 */
  readonly timeoutMs: number;
  /** Returns a reason to give up early (e.g. the process died), or undefined to keep waiting. */
  readonly giveUpIf?: () => string | undefined;
}

/** Retries `attempt` until it resolves; throws the last failure when time runs out. */
export async function waitUntil(attempt: () => Promise<void>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = "no attempt finished";
  for (;;) {
    try {
      await attempt();
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    const reason = options.giveUpIf?.();
    if (reason) throw new Error(`${options.what}: ${reason} (last error: ${lastError})`);
    if (Date.now() >= deadline) {
      throw new Error(
        `${options.what} did not answer within ${options.timeoutMs / 1000}s (last error: ${lastError})`,
      );
    }
    await sleep(500);
  }
}

/** Rejects with `"<what> timed out"` if `promise` has not settled after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether nothing listens on 127.0.0.1:`port` (tested by binding it briefly). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}
