import { PrismError } from "@prism/core";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { type CliAuth, type Commands, flag, UsageError, withClient } from "./cli.js";
import {
  type CachedTokens,
  configDir,
  MAX_CLIENT_ID_CHARS,
  readSettings,
  readTokens,
  removeTokens,
  withRefreshLock,
  writeSettings,
  writeTokens,
} from "./token-cache.js";

/** A cached access token this close to its expiry (seconds) is refreshed before it is sent. */
export const REFRESH_MARGIN_SECONDS = 60;
const DEFAULT_CLIENT_ID = "prismctl";
const DEFAULT_SCOPE = "openid offline_access";
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

/** The unverified claims of a JWT (for display only: the gateway is the one that verifies). */
function peekClaims(jwt: string | undefined): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(jwt?.split(".")[1] ?? "", "base64url").toString("utf8"));
  } catch {
    return {};
  }
}

function clientIdFrom(args: string[], env: NodeJS.ProcessEnv, saved?: string): string {
  const id = flag(args, "--client-id") ?? env.PRISM_CLIENT_ID ?? saved ?? DEFAULT_CLIENT_ID;
  if (!/^[\x21-\x7e]+$/.test(id) || id.length > MAX_CLIENT_ID_CHARS) {
    throw new PrismError(
      "InvalidArgument",
      `the client id must be printable ASCII, at most ${MAX_CLIENT_ID_CHARS} characters`,
    );
  }
  return id;
}

function seconds(args: string[], name: string, fallback: number, max: number): number {
  const text = flag(args, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new PrismError("InvalidArgument", `${name} must be an integer from 0 to ${max}`);
  }
  return value;
}

/** `login`, `logout`, `whoami`. */
export const LOGIN_COMMANDS: Commands = {
  login: {
    usage:
      "login [--issuer URL] [--client-id ID] [--pkce | --browser] [--port N] [--scope S] [--timeout SECONDS]",
    async run(ctx, args) {
      const env = ctx.env ?? process.env;
      const dir = configDir(env);
      const saved = readSettings(dir);
      const issuer = flag(args, "--issuer") ?? env.PRISM_ISSUER ?? saved.issuer;
      if (!issuer) throw new UsageError(`${this.usage}\n(no issuer: pass --issuer or set PRISM_ISSUER)`);
      const clientId = clientIdFrom(args, env, issuer === saved.issuer ? saved.clientId : undefined);
      const scope = flag(args, "--scope") ?? DEFAULT_SCOPE;
      if (scope.length > 1024 || !/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(scope)) {
        throw new PrismError(
          "InvalidArgument",
          "--scope must be space-separated scope names, at most 1024 characters",
        );
      }
      const signal = AbortSignal.timeout(seconds(args, "--timeout", 600, 3600) * 1000);
      const { browserLogin, deviceLogin, discover, toCached } = await issuerClient();
      const config = await discover(issuer, clientId);
      const browser = args.includes("--browser");
      const response =
        browser || args.includes("--pkce")
          ? await browserLogin(
              config,
              { scope, port: seconds(args, "--port", 0, 65535), openBrowser: browser },
              ctx.out,
              signal,
            )
          : await deviceLogin(config, scope, ctx.out, signal);
      const tokens = toCached(config, response);
      const file = writeTokens(dir, tokens);
      // Later commands use this issuer's tokens.
      writeSettings(dir, { issuer: tokens.issuer, clientId });
      const subject = response.claims()?.sub ?? peekClaims(tokens.accessToken).sub ?? "?";
      ctx.out(`Logged in to ${tokens.issuer} as ${String(subject)} (tokens in ${file})`);
    },
  },
  logout: {
    usage: "logout [--issuer URL]",
    async run(ctx, args) {
      const env = ctx.env ?? process.env;
      const dir = configDir(env);
      const issuer = flag(args, "--issuer") ?? env.PRISM_ISSUER ?? readSettings(dir).issuer;
      const tokens = issuer ? readTokens(dir, issuer) : undefined;
      if (!issuer || !tokens) {
        ctx.out(`not logged in${issuer ? ` to ${issuer}` : ""}`);
        return;
      }
      let revoked = false;
      try {
        revoked = await (await issuerClient()).revokeTokens(tokens);
      } catch (error) {
        // The local tokens go regardless: logging out must work with the issuer down.
        process.stderr.write(`warning: ${(error as Error).message}; removing the local tokens anyway\n`);
      }
      removeTokens(dir, issuer);
      ctx.out(`Logged out of ${issuer}${revoked ? " (refresh token revoked)" : ""}`);
    },
  },
  whoami: {
    usage: "whoami",
    async run(ctx) {
      const tokens = ctx.auth?.tokens;
      if (tokens) {
        ctx.out(`issuer\t${tokens.issuer}`);
        ctx.out(`expires\t${new Date(tokens.expiresAt * 1000).toISOString()}`);
      } else {
        ctx.out(`token\t${ctx.auth?.explicit ? "from --token or PRISM_TOKEN" : "none (not logged in)"}`);
      }
      const who = await withClient(ctx, AdminService, (admin) => admin.whoAmI({}));
      ctx.out(`subject\t${who.subject}`);
      ctx.out(`groups\t${who.groups.join(",")}`);
      ctx.out(`admin\t${who.admin ? "yes" : "no"}`);
      ctx.out(`auth\t${who.authMode}`);
    },
  },
};
