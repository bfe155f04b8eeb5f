import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { buildApp } from "../../../deploy/build-app.js";
import { type ChildServer, REPO_ROOT } from "./child.js";
import { type Dataset, MEMORY_NAMESPACE } from "./dataset.js";
import { startGatewayProcess } from "./gateway-process.js";
import { preload } from "./preload.js";

/** Where `--compiled` lays out the runtime (`deploy/build-app.ts`): under `.stack/` (ignored). */
const OUT_DIR = join(REPO_ROOT, ".stack", "bench-compiled");

/** The gateway as development runs it (tsx) and as the image runs it (compiled, plain node). */
export interface CompiledGateways {
  tsx: ChildServer;
  compiled: ChildServer;
}

/**
 * `pnpm bench kv --compiled` (ADR-0027): builds the workspace and lays out the image's runtime
 * with `deploy/build-app.ts` (production dependencies only, no tsx), then starts two fresh
 * gateways on the memory backend, loaded with the dataset — `gateway/src/main.ts` under the tsx
 * loader, and the runtime's `dist/cli.js` with plain `node` (preloading only the orphan guard,
 * bundled to JavaScript like `--bundled` does) — so the closed loop compares their throughput,
 * CPU per call and peak RSS (VmHWM) after the same work.
 *
 * @example const { tsx, compiled } = await startCompiledGateways(dataset, children)
 */
export async function startCompiledGateways(
  dataset: Dataset,
  children: ChildServer[],
): Promise<CompiledGateways> {
  process.stderr.write(`compiled: pnpm build and deploy/build-app.ts into ${OUT_DIR}…\n`);
  const entry = await buildApp(OUT_DIR, { quiet: true });
  const guard = join(OUT_DIR, "bench", "orphan-guard.mjs");
  await build({
    entryPoints: [join(REPO_ROOT, "tooling/bench/src/orphan-guard.ts")],
    outfile: guard,
    platform: "node",
    format: "esm",
    logLevel: "warning",
  });
  const setup = { backends: { mem: { type: "memory" } }, namespaces: { [MEMORY_NAMESPACE]: "mem" } };
  const tsx = await startGatewayProcess(setup);
  children.push(tsx);
  await preload(tsx.address, MEMORY_NAMESPACE, dataset);
  const compiled = await startGatewayProcess({
    ...setup,
    bundled: { entry, guard: pathToFileURL(guard).href },
  });
  children.push(compiled);
  await preload(compiled.address, MEMORY_NAMESPACE, dataset);
  return { tsx, compiled };
}
