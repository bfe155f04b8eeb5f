import { readFileSync } from "node:fs";
import { credentials } from "@grpc/grpc-js";
import type { GatewayConfig } from "./config/gateway-config.js";
import type { Logger } from "./log.js";

/** The running admin web UI. */
export interface AdminUi {
  /** `host:port` it listens on. */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Serves the admin web UI (`@prism/admin`, loaded only when on) beside the gateway. It reaches
 * this gateway's AdminService over gRPC like any client — through the pipeline, its auth and
 * admin-group checks — on loopback when the gateway listens on every interface. A UI that cannot
 * bind is logged and skipped: the data plane keeps serving.
 *
 * @example const ui = await serveAdminUi(config, "127.0.0.1:8980", logger);
 */
export async function serveAdminUi(
  config: Readonly<GatewayConfig>,
  grpcAddress: string,
  logger: Logger,
): Promise<AdminUi | undefined> {
  const { startAdminServer } = await import("@prism/admin");
  const port = grpcAddress.slice(grpcAddress.lastIndexOf(":") + 1);
  const host = grpcAddress.slice(0, grpcAddress.lastIndexOf(":"));
  const target = host === "0.0.0.0" ? `127.0.0.1:${port}` : host === "[::]" ? `[::1]:${port}` : grpcAddress;
  const tls = config.tls;
  const { admin, auth } = config;
  try {
    const server = await startAdminServer({
      listen: admin.listen,
      gateway: {
        address: target,
        ...(tls && {
          credentials: credentials.createSsl(readFileSync(admin.gatewayCaFile ?? tls.certFile)),
        }),
      },
      ...(auth.mode === "oidc" &&
        auth.oidc &&
        admin.oidc && {
          oidc: {
            issuer: auth.oidc.issuer,
            clientId: admin.oidc.clientId,
            scopes: admin.oidc.scopes,
            allowInsecureRequests: auth.oidc.allowInsecureHttp,
            ...(admin.oidc.clientSecret && { clientSecret: admin.oidc.clientSecret }),
            ...(admin.oidc.publicUrl && { publicUrl: admin.oidc.publicUrl }),
          },
        }),
      secureCookies: admin.oidc?.publicUrl?.startsWith("https:") ?? false,
      sessionIdleMs: admin.sessionIdleMs,
      logger,
    });
    return { address: new URL(server.url).host, close: () => server.close() };
  } catch (error) {
    logger.warn(
      { listen: admin.listen, err: (error as Error).message },
      "admin UI not served: could not listen (set admin.listen, PRISM_ADMIN_ADDR, or admin.enabled: false)",
    );
    return undefined;
  }
}
