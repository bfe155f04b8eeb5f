/**
 * Lays out the gateway's runtime in OUT (default /out) from a workspace checkout whose dependencies
 * `pnpm install --frozen-lockfile` installed (ADR-0027):
 *
 *  1. `pnpm build` compiles every workspace package to `dist/` (tsc in build mode);
 *  2. `pnpm deploy --prod` copies the gateway with its production dependencies only (the workspace
 *     packages it uses are copied in, not linked) — no tsx, no typescript;
 *  3. in each copied workspace package, `exports` and `bin` point at `dist/*.js` instead of
 *     `src/*.ts`, and the TypeScript sources, declarations and source maps go (the admin UI's
 *     `ui/` stays: esbuild bundles it at the first page load).
 *
 * Then `node OUT/dist/cli.js` (the `prism` bin) runs the compiled gateway with no loader.
 *
 *   tsx deploy/build-app.ts [OUT] [--no-build]   (--no-build: `dist/` is already current)
 *
 * The Containerfile's build stage runs it; so do tests/deploy/compiled-gateway.test.ts and
 * `pnpm bench kv --compiled`.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";

const REPO = resolve(import.meta.dirname, "..");

/** Package names the runtime must not contain: it runs JavaScript, nothing compiles at run time. */
export const FORBIDDEN_PACKAGES = ["tsx", "typescript"] as const;

export interface BuildAppOptions {
  /** Run `pnpm build` first (default true). */
  build?: boolean;
  /** Keep pnpm's and tsc's output unless a step fails (then it is in the error); default false. */
  quiet?: boolean;
}

/**
 * Builds and lays out the runtime in `out` (emptied first); resolves to the path of the `prism` bin.
 * Asynchronous: the build takes a minute, and a test worker must keep answering meanwhile.
 */
export async function buildApp(out: string, options: BuildAppOptions = {}): Promise<string> {
  const { build = true, quiet = false } = options;
  out = resolve(out);
  if (REPO === out || REPO.startsWith(out + sep) || out === sep)
    throw new Error(`build-app: ${out} holds the checkout; lay out the runtime elsewhere`);
  const pnpm = (args: string[]) =>
    new Promise<void>((done, fail) => {
      const child = spawn("pnpm", args, { cwd: REPO, stdio: quiet ? "pipe" : "inherit" });
      let output = "";
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
      };
      child.stdout?.on("data", collect);
      child.stderr?.on("data", collect);
      child.once("error", fail);
      child.once("close", (code) =>
        code === 0 ? done() : fail(new Error(`build-app: pnpm ${args.join(" ")} failed\n${output}`.trim())),
      );
    });
  if (build) await pnpm(["-s", "build"]);
  rmSync(out, { recursive: true, force: true });
  await pnpm(["--filter", "@prism/gateway", "deploy", "--prod", out]);

  const root = realpathSync(out);
  const scope = join(root, "node_modules", "@prism");
  const packages = [root, ...readdirSync(scope).map((name) => realpathSync(join(scope, name)))];
  for (const dir of packages) {
    // Never touch the workspace itself: pnpm deploy copies workspace packages into out.
    if (dir !== root && !dir.startsWith(root + sep)) throw new Error(`build-app: ${dir} is outside ${out}`);
    toCompiled(dir);
  }
  const bin = join(out, "dist", "cli.js");
  if (!existsSync(bin)) throw new Error(`build-app: ${bin} is missing (did pnpm build run?)`);
  chmodSync(bin, 0o755);
  const forbidden = findPackages(out, FORBIDDEN_PACKAGES);
  if (forbidden.length > 0) throw new Error(`build-app: the runtime contains ${forbidden.join(", ")}`);
  return bin;
}

/** `./src/a/b.ts` → `./dist/a/b.js` (also with a `*` pattern); anything else as it is. */
export function compiledPath(path: string): string {
  const match = /^\.\/src\/(.*)\.ts$/.exec(path);
  return match ? `./dist/${match[1]}.js` : path;
}

function mapTargets(value: unknown, map: (path: string) => string): unknown {
  if (typeof value === "string") return map(value);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, mapTargets(entry, map)]));
  return value;
}

/** Points one copied package at its compiled output and removes what only development needs. */
function toCompiled(dir: string): void {
  const file = join(dir, "package.json");
  const manifest = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const missing: string[] = [];
  const map = (path: string) => {
    const compiled = compiledPath(path);
    if (!compiled.includes("*") && compiled.startsWith("./dist/") && !existsSync(join(dir, compiled)))
      missing.push(compiled);
    return compiled;
  };
  for (const field of ["exports", "bin", "main"])
    if (manifest[field] !== undefined) manifest[field] = mapTargets(manifest[field], map);
  if (missing.length > 0)
    throw new Error(`build-app: ${manifest.name}: no ${missing.join(", ")} (pnpm build?)`);
  delete manifest.devDependencies;
  delete manifest.scripts;
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);

  rmSync(join(dir, "src"), { recursive: true, force: true });
  for (const name of readdirSync(dir)) if (name.startsWith("tsconfig")) rmSync(join(dir, name));
  prune(join(dir, "dist"));
}

/** Declarations, source maps and build info: nothing the runtime reads. */
function prune(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) prune(path);
    else if (/\.d\.ts$|\.map$|\.tsbuildinfo$/.test(entry.name)) rmSync(path);
  }
}

/** Installed packages (and `.bin` links) named one of `names`, anywhere under `root`. */
export function findPackages(root: string, names: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string, inNodeModules: boolean) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const base = entry.name.replace(/@[^@]*$/, ""); // .pnpm/tsx@4.20.0 → tsx
      if (inNodeModules && (names.includes(entry.name) || names.includes(base))) found.push(path);
      else if (entry.isDirectory()) walk(path, inNodeModules || entry.name === "node_modules");
    }
  };
  walk(root, false);
  return found;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const out = args.find((arg) => !arg.startsWith("-")) ?? "/out";
  const bin = await buildApp(out, { build: !args.includes("--no-build") });
  process.stdout.write(`build-app: ${out} laid out; run it with node ${bin}\n`);
}
