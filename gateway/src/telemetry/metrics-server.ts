import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Logger } from "../log.js";

/** What the server serves: the exposition of the moment. */
export interface MetricsSource {
  render(): Promise<{ contentType: string; body: string }>;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** `host:port` actually bound (port 0 in the config picks a free one). */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text format) on `listen` with `node:http`; any other path is
 * 404, any other method 405, a request with a body 400. It carries no data (see `metrics.ts`) and
 * has no authentication of its own: the config refuses a non-loopback `metrics.listen` while
 * `auth.mode` is `none`, as it does for the gRPC listener.
 *
 * A port that cannot be bound is logged as an error and the gateway serves on without metrics
 * (undefined is returned): losing the scrape target shows as `up == 0` in Prometheus, while
 * refusing data traffic over it would be an outage.
 *
 * @example const server = await serveMetrics("127.0.0.1:9464", metrics, logger); server?.address
 */
export async function serveMetrics(
  listen: string,
  source: MetricsSource,
  logger: Logger,
): Promise<MetricsServer | undefined> {
  const split = listen.lastIndexOf(":");
  const host = listen.slice(0, split);
  const server = createServer((request, response) => void answer(request, response, source, logger));
  // A scrape is one small GET: bound how long a slow or idle client may hold a connection.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(Number(listen.slice(split + 1)), host.replace(/^\[|\]$/g, ""), () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    logger.error(
      { listen, err: (error as Error).message },
      "metrics endpoint could not be bound; serving without metrics",
    );
    return undefined;
  }
  server.on("error", (error) => logger.warn({ err: error.message }, "metrics endpoint error"));
  const { port } = server.address() as { port: number };
  const address = `${host}:${port}`;
  logger.info({ address }, "prism metrics listening");
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  source: MetricsSource,
  logger: Logger,
): Promise<void> {
  const path = (request.url ?? "").split("?", 1)[0];
  if (path !== "/metrics") return reply(response, 404, "not found\n");
  if (request.method !== "GET") return reply(response, 405, "only GET\n", { allow: "GET" });
  if (
    request.headers["transfer-encoding"] !== undefined ||
    Number(request.headers["content-length"] ?? 0) > 0
  ) {
    // Unread, the body would be taken for the next request on this connection: close it.
    return reply(response, 400, "a scrape has no body\n", { connection: "close" });
  }
  try {
    const { contentType, body } = await source.render();
    reply(response, 200, body, { "content-type": contentType });
  } catch (error) {
    logger.warn({ err: (error as Error).message }, "rendering metrics failed");
    reply(response, 500, "metrics unavailable\n");
  }
}

function reply(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
    ...headers,
  });
  response.end(body);
}
