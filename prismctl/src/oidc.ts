import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { PrismError } from "@prism/core";
import * as oidc from "openid-client";
import { type CachedTokens, MAX_URL_CHARS } from "./token-cache.js";

/**
 * prismctl's side of OpenID Connect, on openid-client: discovery, the device code flow, the
 * authorization code flow with PKCE and a loopback redirect (RFC 8252), refresh and revocation.
 * prismctl is a public client (no secret).
 */

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The issuer as a URL: https, or http only on loopback (a local test or development issuer). */
export function issuerUrl(text: string): URL {
  let url: URL;
  try {
    if (text.length > MAX_URL_CHARS) throw new Error("too long");
    url = new URL(text);
  } catch {
    throw new PrismError(
      "InvalidArgument",
      `the issuer must be a URL of at most ${MAX_URL_CHARS} characters`,
    );
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname))) return url;
  throw new PrismError(
    "InvalidArgument",
    "the issuer must use https (plain http only on 127.0.0.1 or localhost)",
  );
}

/** The OAuth error code of a failed exchange (`access_denied`, `invalid_grant`…), when it has one. */
function oauthCode(error: unknown): string {
  const code = (error as { error?: unknown } | undefined)?.error;
  return typeof code === "string" && /^[\w.-]{1,64}$/.test(code) ? ` (${code})` : "";
}

/** Reads the issuer's OpenID configuration. */
export async function discover(issuer: string, clientId: string): Promise<oidc.Configuration> {
  const url = issuerUrl(issuer);
  try {
    return await oidc.discovery(url, clientId, undefined, oidc.None(), {
      timeout: 10,
      ...(url.protocol === "http:" && { execute: [oidc.allowInsecureRequests] }),
    });
  } catch (error) {
    throw new PrismError(
      "Unavailable",
      `could not read the OpenID configuration of ${issuer}${oauthCode(error)}`,
      {
        cause: error,
      },
    );
  }
}

type TokenResponse = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

/** What the cache keeps of a token response; a refresh without a new refresh token keeps the old one. */
export function toCached(
  config: oidc.Configuration,
  response: TokenResponse,
  previous?: CachedTokens,
): CachedTokens {
  const refreshToken = response.refresh_token ?? previous?.refreshToken;
  const idToken = response.id_token ?? previous?.idToken;
  const scope = response.scope || previous?.scope;
  return {
    issuer: config.serverMetadata().issuer,
    clientId: config.clientMetadata().client_id,
    accessToken: response.access_token,
    // No expires_in: assume five minutes, so prismctl refreshes rather than trusts it forever.
    expiresAt: Math.floor(Date.now() / 1000) + (response.expiresIn() ?? 300),
    ...(refreshToken && { refreshToken }),
    ...(idToken && { idToken }),
    ...(scope && { scope }),
  };
}

/** Device code flow: tells the user where to approve, then polls until they did (or `signal`). */
export async function deviceLogin(
  config: oidc.Configuration,
  scope: string,
  out: (line: string) => void,
  signal: AbortSignal,
): Promise<TokenResponse> {
  if (!config.serverMetadata().device_authorization_endpoint) {
    throw new PrismError("FailedPrecondition", "the issuer does not offer the device code flow: use --pkce");
  }
  try {
    const device = await oidc.initiateDeviceAuthorization(config, { scope });
    out(`Open ${device.verification_uri} and enter the code ${device.user_code}`);
    if (device.verification_uri_complete) out(`or open ${device.verification_uri_complete}`);
    out("Waiting for approval…");
    return await oidc.pollDeviceAuthorizationGrant(config, device, undefined, { signal });
  } catch (error) {
    if (signal.aborted) throw new PrismError("DeadlineExceeded", "the login was not approved in time");
    throw new PrismError("Unauthenticated", `the device login failed${oauthCode(error)}`, { cause: error });
  }
}

/**
 * Authorization code + PKCE: a one-shot HTTP server on 127.0.0.1 (`port`, 0 = any) receives the
 * redirect. The URL is printed; a browser is opened only when `openBrowser` says so.
 */
export async function browserLogin(
  config: oidc.Configuration,
  options: { scope: string; port: number; openBrowser: boolean },
  out: (line: string) => void,
  signal: AbortSignal,
): Promise<TokenResponse> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", resolve);
  });
  try {
    const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: options.scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      // OpenID Connect grants offline_access (a refresh token) only with explicit consent.
      ...(options.scope.split(" ").includes("offline_access") && { prompt: "consent" }),
    });
    out("Open this URL to log in:");
    out(url.href);
    if (options.openBrowser) openInBrowser(url.href);
    const callback = await new Promise<URL>((resolve, reject) => {
      signal.addEventListener(
        "abort",
        () => reject(new PrismError("DeadlineExceeded", "the login was not completed in time")),
        { once: true },
      );
      server.on("request", (req, res) => {
        const received = new URL(req.url ?? "/", redirectUri);
        if (received.pathname !== "/callback" || received.searchParams.get("state") !== state) {
          res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
          return;
        }
        const failed = received.searchParams.has("error");
        res
          .writeHead(failed ? 400 : 200, { "content-type": "text/plain; charset=utf-8" })
          .end(
            failed
              ? "prismctl: the login failed; see the terminal.\n"
              : "prismctl: logged in. You can close this page.\n",
          );
        resolve(received);
      });
    });
    return await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
  } catch (error) {
    if (error instanceof PrismError) throw error;
    throw new PrismError("Unauthenticated", `the browser login failed${oauthCode(error)}`, { cause: error });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

function openInBrowser(url: string): void {
  const [command, ...args] =
    process.platform === "darwin"
      ? ["open", url]
      : process.platform === "win32"
        ? ["cmd", "/c", "start", "", url]
        : ["xdg-open", url];
  // No shell: the URL is one argument. A missing opener is fine, the URL is printed.
  const child = spawn(command!, args, { stdio: "ignore", detached: true });
  child.on("error", () => {});
  child.unref();
}

/** New tokens for `tokens` from its refresh token. */
export async function refreshTokens(tokens: CachedTokens): Promise<CachedTokens> {
  if (!tokens.refreshToken) {
    throw new PrismError(
      "Unauthenticated",
      `the token from ${tokens.issuer} has expired: run prismctl login`,
    );
  }
  const config = await discover(tokens.issuer, tokens.clientId);
  try {
    return toCached(config, await oidc.refreshTokenGrant(config, tokens.refreshToken), tokens);
  } catch (error) {
    throw new PrismError(
      "Unauthenticated",
      `the token from ${tokens.issuer} has expired and could not be refreshed${oauthCode(error)}: run prismctl login`,
      { cause: error },
    );
  }
}

/** Revokes the refresh token at the issuer, if it has a revocation endpoint; false when it has none. */
export async function revokeTokens(tokens: CachedTokens): Promise<boolean> {
  const config = await discover(tokens.issuer, tokens.clientId);
  if (!config.serverMetadata().revocation_endpoint || !tokens.refreshToken) return false;
  try {
    await oidc.tokenRevocation(config, tokens.refreshToken, { token_type_hint: "refresh_token" });
    return true;
  } catch (error) {
    throw new PrismError("Unavailable", `the issuer did not revoke the token${oauthCode(error)}`, {
      cause: error,
    });
  }
}
