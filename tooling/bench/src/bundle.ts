import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";
import { REPO_ROOT } from "./child.js";

/** The bench's children as plain JavaScript, for `node` without the tsx loader. */
export interface BundledChildren {
  /** `gateway/src/main.ts` bundled. */
  readonly gateway: string;
  readonly bare: string;
  /** The orphan guard and the loop-delay probe, as `--import` URLs. */
  readonly guard: string;
  readonly probe: string;
}

/** Where the bundles go: under `.stack/` (ignored), so externals resolve from the repo. */
const OUT_DIR = join(REPO_ROOT, ".stack", "bench-bundle");

/**
 * The `--bundled` prototype of ADR 0005's road not taken: the gateway and the bare server built
 * ahead of time with esbuild and run by plain `node`, so the bench can measure what the tsx loader
 * (an ESM hooks thread, transform caches, source maps) costs in memory and startup. The product
 * still runs from source; this exists to measure.
 *
 * Native and optional modules stay external, resolved to their absolute paths in the workspace.
 *
 * @example const bundle = await bundleChildren(); startChild({ entry: bundle.gateway, ... })
 */
export async function bundleChildren(): Promise<BundledChildren> {
  await build({
    entryPoints: {
      gateway: join(REPO_ROOT, "gateway/src/main.ts"),
      bare: join(REPO_ROOT, "tooling/bench/src/bare-server.ts"),
      guard: join(REPO_ROOT, "tooling/bench/src/orphan-guard.ts"),
      probe: join(REPO_ROOT, "tooling/bench/src/loop-delay-probe.ts"),
    },
    outdir: OUT_DIR,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    // CommonJS dependencies call require() for Node's built-ins.
    banner: {
      js: 'import { createRequire as __prismRequire } from "node:module"; const require = __prismRequire(import.meta.url);',
    },
    plugins: [
      externalFromWorkspace(["better-sqlite3"]),
      optionalAbsent(["pg-native", "bufferutil", "utf-8-validate"]),
    ],
  });
  const file = (name: string) => join(OUT_DIR, `${name}.mjs`);
  return {
    gateway: file("gateway"),
    bare: file("bare"),
    guard: pathToFileURL(file("guard")).href,
    probe: pathToFileURL(file("probe")).href,
  };
}

/** Keeps native packages out of the bundle, imported from where the workspace installed them. */
function externalFromWorkspace(names: string[]): Plugin {
  const fromSqlite = createRequire(join(REPO_ROOT, "patterns/sqlite/package.json"));
  return {
    name: "external-from-workspace",
    setup(plugin) {
      plugin.onResolve({ filter: new RegExp(`^(${names.join("|")})$`) }, (args) => ({
        path: fromSqlite.resolve(args.path),
        external: true,
      }));
    },
  };
}

/** Optional peers that dependencies require inside try/catch: left as (failing) runtime requires. */
function optionalAbsent(names: string[]): Plugin {
  return {
    name: "optional-absent",
    setup(plugin) {
      plugin.onResolve({ filter: new RegExp(`^(${names.join("|")})$`) }, (args) => ({
        path: args.path,
        external: true,
      }));
    },
  };
}
