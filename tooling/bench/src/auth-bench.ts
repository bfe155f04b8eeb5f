import { MINTER_AUDIENCE, startTokenMinter } from "../../../tests/support/token-minter.js";
import type { ChildServer } from "./child.js";
import { type Dataset, MEMORY_NAMESPACE } from "./dataset.js";
import { startGatewayProcess } from "./gateway-process.js";
import { preload } from "./preload.js";

/** The throughput ratio gateway with OIDC / gateway without the KeyValue Get load must keep (issue 10). */
export const AUTH_GOAL = 0.9;

/** A gateway with `auth.mode: oidc`, and the header a client of it sends. */
export interface AuthGateway {
  gateway: ChildServer;
  headers: Record<string, string>;
  /** Stops the token issuer (the gateway is one of `children`). */
  close(): Promise<void>;
}

/**
 * Starts a second gateway like the first (memory backend, the bench namespace) with `auth.mode:
 * oidc` against a JWKS served in this process on 127.0.0.1, mints one token (as a real client
 * would reuse its token until it expires) and loads the dataset through it. The namespace has
 * access lists, so authorize does real work as well.
 *
 * @example const auth = await startAuthGateway(dataset, children); createLoadClient("h2", { ..., headers: auth.headers })
 */
export async function startAuthGateway(dataset: Dataset, children: ChildServer[]): Promise<AuthGateway> {
  const minter = await startTokenMinter();
  try {
    const gateway = await startGatewayProcess({
      backends: { mem: { type: "memory" } },
      namespaces: {
        [MEMORY_NAMESPACE]: { backend: "mem", access: { read: ["group:bench"], write: ["group:bench"] } },
      },
      config: {
        auth: {
          mode: "oidc",
          oidc: { issuer: minter.issuer, audience: MINTER_AUDIENCE, allowInsecureHttp: true },
        },
      },
    });
    children.push(gateway);
    const token = await minter.mint({ sub: "bench", groups: ["bench"] });
    const headers = { authorization: `Bearer ${token}` };
    await preload(gateway.address, MEMORY_NAMESPACE, dataset, headers);
    return { gateway, headers, close: () => minter.stop() };
  } catch (error) {
    await minter.stop();
    throw error;
  }
}
