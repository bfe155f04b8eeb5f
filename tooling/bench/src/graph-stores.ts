import { rmSync } from "node:fs";
import { benchDir, benchSchema, cleanupWarning, onPostgres, sharedStore } from "./bench-stores.js";
import type { TsStore } from "./ts-stores.js";

/** The backends `pnpm bench graph` can measure, in the order it measures them. */
export const GRAPH_BACKENDS = ["memory", "sqlite", "postgres", "neptune"] as const;
export type GraphBackendName = (typeof GRAPH_BACKENDS)[number];

/** Where the stack's servers are. */
export interface GraphEndpoints {
  readonly pgUrl: string;
  /** Gremlin Server (or Neptune) WebSocket endpoint, `ws://…/gremlin`. */
  readonly gremlinUrl: string;
}

/** One backend's storage for one run: the TimeSeries bench's shape, plus what follows a load. */
export interface GraphStore extends TsStore {
  /**
   * Run once both targets have loaded, before measuring: PostgreSQL's `VACUUM ANALYZE` of the
   * graph tables (as after any bulk load), so autovacuum does not start inside a window.
   */
  afterLoad?(): Promise<void>;
}

/**
 * Fresh storage for one run on `backend`: a PostgreSQL schema or a Gremlin id prefix named after
 * `run` (so runs never see each other's graphs), or SQLite files in a temporary directory. The
 * gateway and the direct client share it, in namespaces of their own.
 *
 * @example const store = graphStore("postgres", "1a2b3c4d", endpoints); …; await store.cleanup()
 */
export function graphStore(backend: GraphBackendName, run: string, endpoints: GraphEndpoints): GraphStore {
  if (backend === "memory" || backend === "sqlite")
    return sharedStore(backend, "graph", run, endpoints.pgUrl);
  if (backend === "postgres") {
    const store = sharedStore(backend, "graph", run, endpoints.pgUrl);
    const schema = benchSchema("graph", run);
    return {
      ...store,
      afterLoad: () =>
        onPostgres(endpoints.pgUrl, `VACUUM ANALYZE "${schema}".graph_nodes, "${schema}".graph_edges`),
    };
  }
  const dir = benchDir("graph", backend);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const warn = (what: string, error: unknown) => cleanupWarning("graph", what, error);
  switch (backend) {
    case "neptune": {
      // Letters and digits only (the driver's rule); every vertex carries it as its label.
      const prefix = `bgr${run}`;
      return {
        gateway: { type: "neptune", url: "env:PRISM_BENCH_GREMLIN_URL", prefix },
        env: { PRISM_BENCH_GREMLIN_URL: endpoints.gremlinUrl },
        direct: { url: endpoints.gremlinUrl, prefix },
        dir,
        async cleanup() {
          removeDir();
          try {
            const { default: gremlin } = await import("gremlin");
            const connection = new gremlin.driver.DriverRemoteConnection(endpoints.gremlinUrl, {
              headers: {},
            });
            try {
              const g = gremlin.process.AnonymousTraversalSource.traversal().withRemote(connection);
              // Edges go with their vertices.
              await g.V().hasLabel(prefix).drop().iterate();
            } finally {
              await connection.close();
            }
          } catch (error) {
            warn(`the vertices of ${prefix}`, error);
          }
        },
      };
    }
  }
}

/**
 * Which of `backends` the gateway has Graph drivers for, given the registered drivers' types.
 *
 * @example graphBackendsOf(["memory", "postgres"]) // ["memory", "postgres"]
 */
export function graphBackendsOf(registered: Iterable<string>): GraphBackendName[] {
  const types = new Set(registered);
  return GRAPH_BACKENDS.filter((b) => types.has(b));
}
