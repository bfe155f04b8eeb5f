import { join } from "node:path";
import type { BundledChildren } from "./bundle.js";
import { type ChildServer, REPO_ROOT, startChild } from "./child.js";
import { type Dataset, MEMORY_NAMESPACE, POSTGRES_NAMESPACE } from "./dataset.js";
import { startGatewayProcess } from "./gateway-process.js";

/** What both children of a comparison run need. */
export interface ServerOptions {
  readonly dataset: Dataset;
  /** Also give the gateway a postgres backend and the namespace `bench-kv-pg` on it. */
  readonly postgres: boolean;
  readonly pgUrl: string;
  readonly pgPoolSize: number;
  /** Where to write both children's V8 CPU profiles (`gateway/`, `bare/`), when profiling. */
  readonly cpuProfileDir?: string;
  /** Modules both children preload (`--import`), e.g. the event-loop delay probe. */
  readonly preload?: string[];
  /** Run both children bundled (`bundle.ts`), without the tsx loader. */
  readonly bundle?: BundledChildren;
}

/**
 * Starts the bare grpc-js server and the gateway (memory backend, plus postgres when asked), each
 * pushed onto `children` as soon as it runs, so the caller's `finally` stops whatever started.
 *
 * @example const { bare, gateway } = await startServers(options, children)
 */
export async function startServers(
  options: ServerOptions,
  children: ChildServer[],
): Promise<{ bare: ChildServer; gateway: ChildServer }> {
  const { dataset, postgres } = options;
  const bare = await startChild({
    name: "bare",
    entry: options.bundle?.bare ?? join(REPO_ROOT, "tooling/bench/src/bare-server.ts"),
    ...(options.bundle && { guard: options.bundle.guard }),
    args: [
      ...["--records", `${dataset.records}`, "--value-bytes", `${dataset.valueBytes}`],
      ...["--namespace", MEMORY_NAMESPACE],
      ...(postgres ? ["--pg-namespace", POSTGRES_NAMESPACE, "--pg-pool", `${options.pgPoolSize}`] : []),
    ],
    cwd: REPO_ROOT,
    env: { ...process.env, PRISM_BENCH_PG_URL: options.pgUrl },
    nodeArgs: cpuProfileArgs(options.cpuProfileDir, "bare"),
    preload: options.preload ?? [],
  });
  children.push(bare);
  const gateway = await startGatewayProcess({
    backends: {
      mem: { type: "memory" },
      ...(postgres
        ? { pg: { type: "postgres", url: "env:PRISM_BENCH_PG_URL", poolSize: options.pgPoolSize } }
        : {}),
    },
    namespaces: { [MEMORY_NAMESPACE]: "mem", ...(postgres ? { [POSTGRES_NAMESPACE]: "pg" } : {}) },
    env: { PRISM_BENCH_PG_URL: options.pgUrl },
    nodeArgs: cpuProfileArgs(options.cpuProfileDir, "gateway"),
    ...(options.bundle && { bundled: { entry: options.bundle.gateway, guard: options.bundle.guard } }),
    preload: options.preload ?? [],
  });
  children.push(gateway);
  return { bare, gateway };
}

/** `--cpu-prof` flags writing `<dir>/<child>/*.cpuprofile` when profiling was asked for. */
function cpuProfileArgs(dir: string | undefined, child: string): string[] {
  if (!dir) return [];
  return ["--cpu-prof", `--cpu-prof-dir=${join(dir, child)}`];
}
