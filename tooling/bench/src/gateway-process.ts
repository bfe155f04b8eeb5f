import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChildServer, REPO_ROOT, startChild } from "./child.js";

/**
 * A namespace's fields beyond its name, as in the gateway config; `pattern` defaults to keyvalue.
 *
 * @example { pattern: "timeseries", backend: "pg", accept_window: { past: "1d", future: "1h" } }
 */
export type NamespaceSetup = { backend: string; pattern?: string } & Record<string, unknown>;

/** The gateway child's backends and namespaces. */
export interface GatewaySetup {
  /** Backend instances as in the gateway config, e.g. `{ mem: { type: "memory" } }`. */
  backends: Record<string, { type: string } & Record<string, unknown>>;
  /** Namespace name → backend instance name (a keyvalue namespace), or the namespace's fields. */
  namespaces: Record<string, string | NamespaceSetup>;
  /** Extra environment, e.g. a database URL that an `env:NAME` option refers to. */
  env?: Record<string, string>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Extra modules to preload (`--import`), e.g. the event-loop delay probe. */
  preload?: string[];
  /**
   * Run a bundled (`bundle.ts`) or compiled (`compiled-bench.ts`) gateway entry with this orphan
   * guard instead of the sources under tsx.
   */
  bundled?: { entry: string; guard: string };
  /** More top-level config sections, e.g. `auth`. */
  config?: Record<string, unknown>;
}

/** Environment variables that would override the bench's config in the gateway. */
const OVERRIDES = [
  "PRISM_CONFIG",
  "PRISM_GRPC_ADDR",
  "PRISM_METRICS_ADDR",
  "PRISM_ADMIN_ADDR",
  "PRISM_DATA_DIR",
  "PRISM_LOG_LEVEL",
];

/**
 * Starts the real gateway (`gateway/src/main.ts --config <tmp>.yaml`) as a separate process on a
 * free loopback port, logging at warn, with a temporary data directory that `stop()` deletes.
 * Metrics are on (as by default) on a free port; `PRISM_BENCH_METRICS=off` turns them off, to
 * measure what they cost.
 *
 * @example const gateway = await startGatewayProcess({ backends: { mem: { type: "memory" } }, namespaces: { "bench-kv": "mem" } })
 */
export async function startGatewayProcess(setup: GatewaySetup): Promise<ChildServer> {
  const dir = mkdtempSync(join(tmpdir(), "prism-bench-"));
  const config = {
    listen: { grpc: "127.0.0.1:0" },
    dataDir: join(dir, "data"),
    logLevel: "warn",
    shutdownGraceMs: 1000,
    backends: setup.backends,
    namespaces: Object.entries(setup.namespaces).map(([name, spec]) =>
      typeof spec === "string"
        ? { name, pattern: "keyvalue", backend: spec }
        : { name, pattern: "keyvalue", ...spec },
    ),
    ...setup.config,
    // No browser watches a bench: the UI would only take a port (it costs calls nothing).
    admin: { enabled: false },
    metrics: {
      listen: "127.0.0.1:0",
      ...(process.env.PRISM_BENCH_METRICS === "off" && { enabled: false }),
      ...(setup.config?.metrics as object | undefined),
    },
  };
  // JSON is YAML: no YAML writer needed.
  const file = join(dir, "gateway.yaml");
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  const env = { ...process.env, ...setup.env };
  for (const name of OVERRIDES) delete env[name];
  const cleanup = () => {
    rmSync(dir, { recursive: true, force: true });
    process.off("exit", cleanup);
  };
  // Also on an early exit (Ctrl-C, a fatal error), after child.ts has killed the gateway.
  process.on("exit", cleanup);
  try {
    const child = await startChild({
      name: "gateway",
      entry: setup.bundled?.entry ?? join(REPO_ROOT, "gateway/src/main.ts"),
      ...(setup.bundled && { guard: setup.bundled.guard }),
      args: ["--config", file],
      cwd: REPO_ROOT,
      env,
      nodeArgs: setup.nodeArgs ?? [],
      preload: setup.preload ?? [],
    });
    return {
      ...child,
      async stop(graceMs?: number) {
        await child.stop(graceMs);
        cleanup();
      },
    };
  } catch (error) {
    cleanup();
    throw error;
  }
}
