import { readFileSync } from "node:fs";
import { findOnPath, run } from "./process.js";
import type { Log, RunAs } from "./server.js";

let aptListsRefreshed = false;

/**
 * Installs Debian packages with apt-get. A fresh machine often has stale or empty package lists, so
 * a failed install runs `apt-get update` once and retries. Uses `sudo -n` when not root.
 */
export async function aptInstall(packages: readonly string[], log: Log): Promise<void> {
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = () => asRoot(["apt-get", "install", "-y", "--no-install-recommends", ...packages], env);
  log(`apt-get install ${packages.join(" ")}`);
  try {
    await install();
  } catch (error) {
    if (aptListsRefreshed) throw error;
    log("install failed; running apt-get update and retrying");
    await asRoot(["apt-get", "update"], env);
    aptListsRefreshed = true;
    await install();
  }
}

/** Installs `aptPackage` when `command` is not on PATH (e.g. `java`, `mvn`). */
export async function ensureCommand(command: string, aptPackage: string, log: Log): Promise<string> {
  const existing = findOnPath(command);
  if (existing) return existing;
  await aptInstall([aptPackage], log);
  const installed = findOnPath(command);
  if (!installed) throw new Error(`${command} is still missing after installing ${aptPackage}`);
  return installed;
}

/** Whether this process runs as root. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The uid and gid of a system account, creating it (as a system user without a login) when it is
 * missing.
 */
export async function ensureSystemUser(name: string): Promise<RunAs> {
  const existing = lookupUser(name);
  if (existing) return existing;
  await asRoot([
    "useradd",
    "--system",
    "--user-group",
    "--no-create-home",
    "--shell",
    "/usr/sbin/nologin",
    name,
  ]);
  const created = lookupUser(name);
  if (!created) throw new Error(`useradd ${name} succeeded but the account is not in /etc/passwd`);
  return created;
}

function lookupUser(name: string): RunAs | undefined {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name && uid && gid) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

function asRoot(argv: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const [command, ...args] = argv as [string, ...string[]];
  if (isRoot()) return run(command, args, { env });
  if (!findOnPath("sudo")) throw new Error(`${command} needs root and sudo is not installed`);
  const envArgs = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  return run("sudo", ["-n", "env", ...envArgs, command, ...args]);
}
