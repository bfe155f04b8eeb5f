import type { ChannelCredentials } from "@grpc/grpc-js";

/** What the admin web server needs: where to listen, the gateway to talk to, and login when auth is on. */
export interface AdminServerOptions {
  /** `host:port`; port 0 picks a free one. A non-loopback host needs `oidc`. */
  listen: string;
  /** The gateway's gRPC address; the server talks to AdminService only. */
  gateway: { address: string; credentials?: ChannelCredentials };
  /** OIDC login (authorization code + PKCE) when the gateway requires auth. */
  oidc?: {
    issuer: string;
    clientId: string;
    clientSecret?: string;
    scopes?: string[];
    /** http:// issuers (tests on loopback only). */
    allowInsecureRequests?: boolean;
  };
  /** Mark cookies Secure (set when served behind TLS). */
  secureCookies?: boolean;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export interface AdminServer {
  /** `http://host:port` it listens on. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startAdminServer(_options: AdminServerOptions): Promise<AdminServer> {
  throw new Error("not yet");
}
