import { PrismError } from "@prism/core";
import type { CliAuth } from "./cli.js";
import {
  type CachedTokens,
  configDir,
  readSettings,
  readTokens,
  withRefreshLock,
  writeTokens,
} from "./token-cache.js";

/** A cached access token this close to its expiry (seconds) is refreshed before it is sent. */
export const REFRESH_MARGIN_SECONDS = 60;
/** A bearer token is printable ASCII without spaces (RFC 6750 b64token, generously) and bounded. */
const TOKEN_SHAPE = /^[\x21-\x7e]{1,16384}$/;

const nowSeconds = () => Math.floor(Date.now() / 1000);
/** openid-client loads only when a command talks to the issuer, not on every gateway call. */
const issuerClient = () => import("./oidc.js");

/**
 * The token every command sends: `--token` or PRISM_TOKEN when given; otherwise the cached token
 * of the configured issuer (PRISM_ISSUER, else the one of the last `prismctl login`), refreshed
 * first when it is about to expire; otherwise none.
 */
export async function resolveAuth(env: NodeJS.ProcessEnv, explicitToken?: string): Promise<CliAuth> {
  const token = explicitToken ?? (env.PRISM_TOKEN || undefined);
  if (token !== undefined) {
    if (!TOKEN_SHAPE.test(token)) {
      throw new PrismError(
        "InvalidArgument",
        "the token must be printable ASCII without spaces, at most 16 KiB",
      );
    }
    return { headers: { authorization: `Bearer ${token}` }, explicit: true };
  }
  const dir = configDir(env);
  const issuer = env.PRISM_ISSUER || readSettings(dir).issuer;
  let tokens = issuer ? readTokens(dir, issuer) : undefined;
  if (!tokens) return { headers: {} };
  const stale = (t: CachedTokens) => t.expiresAt - nowSeconds() <= REFRESH_MARGIN_SECONDS;
  if (stale(tokens)) {
    const before = tokens;
    tokens = await withRefreshLock(dir, before.issuer, async () => {
      // Another prismctl may have refreshed while this one waited for the lock.
      const current = readTokens(dir, before.issuer) ?? before;
      if (!stale(current)) return current;
      const fresh = await (await issuerClient()).refreshTokens(current);
      writeTokens(dir, fresh);
      return fresh;
    });
  }
  return { headers: { authorization: `Bearer ${tokens.accessToken}` }, tokens };
}
