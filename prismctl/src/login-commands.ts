import { PrismError } from "@prism/core";
import { AdminService, WhoAmIResponseSchema } from "@prism/proto/prism/admin/v1/admin";
import type { Command } from "commander";
import { UsageError, withClient } from "./cli.js";
import { type Call, type CommandKit, wholeNumber } from "./command-kit.js";
import { protoJson } from "./output.js";
import {
  configDir,
  MAX_CLIENT_ID_CHARS,
  readSettings,
  readTokens,
  removeTokens,
  writeSettings,
  writeTokens,
} from "./token-cache.js";

const DEFAULT_CLIENT_ID = "prismctl";
const DEFAULT_SCOPE = "openid offline_access";
/** openid-client loads only when a command talks to the issuer, not on every gateway call. */
const issuerClient = () => import("./oidc.js");

type LoginOptions = {
  issuer?: string;
  clientId?: string;
  pkce?: boolean;
  browser?: boolean;
  port?: number;
  scope?: string;
  timeout?: number;
};

/** `login`, `logout` (the issuer only: no gateway call) and `whoami`. */
export function addLoginCommands(root: Command, kit: CommandKit): void {
  kit.local(
    root
      .command("login")
      .description(
        "Log in to the OIDC issuer; later commands send its token.\n" +
          "The device code flow, or with --pkce a loopback redirect. The token is refreshed when about " +
          "to expire; tokens stay in ~/.config/prism (0600).",
      )
      .option("--issuer <url>", "the issuer (default: PRISM_ISSUER, else the last login's)")
      .option("--client-id <id>", `the OAuth client (default: PRISM_CLIENT_ID, else ${DEFAULT_CLIENT_ID})`)
      .option("--pkce", "authorization code flow with PKCE: open the printed URL yourself")
      .option("--browser", "like --pkce, and open the browser")
      .option(
        "--port <n>",
        "the loopback redirect's port (default: any free one)",
        wholeNumber("--port", 0, 65535),
      )
      .option("--scope <scopes>", `space-separated scopes (default: ${DEFAULT_SCOPE})`)
      .option(
        "--timeout <seconds>",
        "give up after this long (default 600)",
        wholeNumber("--timeout", 0, 3600),
      ),
    {},
    async (ctx, { opts }: Call<LoginOptions>) => {
      const env = ctx.env;
      const dir = configDir(env);
      const saved = readSettings(dir);
      const issuer = opts.issuer ?? env.PRISM_ISSUER ?? saved.issuer;
      if (!issuer) throw new UsageError("no issuer: pass --issuer or set PRISM_ISSUER");
      const clientId = clientIdFrom(opts.clientId, env, issuer === saved.issuer ? saved.clientId : undefined);
      const scope = opts.scope ?? DEFAULT_SCOPE;
      if (scope.length > 1024 || !/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(scope)) {
        throw new PrismError(
          "InvalidArgument",
          "--scope must be space-separated scope names, at most 1024 characters",
        );
      }
      const signal = AbortSignal.timeout((opts.timeout ?? 600) * 1000);
      const { browserLogin, deviceLogin, discover, toCached } = await issuerClient();
      const config = await discover(issuer, clientId);
      const response =
        opts.browser || opts.pkce
          ? await browserLogin(
              config,
              { scope, port: opts.port ?? 0, openBrowser: opts.browser === true },
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
  );

  kit.local(
    root
      .command("logout")
      .description("Revoke the refresh token at the issuer and remove the local tokens.")
      .option("--issuer <url>", "the issuer (default: PRISM_ISSUER, else the last login's)"),
    {},
    async (ctx, { opts }: Call<{ issuer?: string }>) => {
      const env = ctx.env;
      const dir = configDir(env);
      const issuer = opts.issuer ?? env.PRISM_ISSUER ?? readSettings(dir).issuer;
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
        ctx.err(`warning: ${(error as Error).message}; removing the local tokens anyway`);
      }
      removeTokens(dir, issuer);
      ctx.out(`Logged out of ${issuer}${revoked ? " (refresh token revoked)" : ""}`);
    },
  );

  kit.gateway(
    root
      .command("whoami")
      .description(
        "Who the gateway says you are.\nKEY<TAB>VALUE lines: subject, groups, admin, auth mode, and the issuer " +
          "and expiry of a login's token.",
      ),
    {},
    async (ctx) => {
      const who = await withClient(ctx, AdminService, (admin) => admin.whoAmI({}));
      const tokens = ctx.auth?.tokens;
      const token = tokens
        ? { issuer: tokens.issuer, expires: new Date(tokens.expiresAt * 1000).toISOString() }
        : { token: ctx.auth?.explicit ? "from --token or PRISM_TOKEN" : "none (not logged in)" };
      ctx.print.document({ ...token, ...(protoJson(WhoAmIResponseSchema, who) as object) }, () => [
        ...Object.entries(token).map(([key, value]) => `${key}\t${value}`),
        `subject\t${who.subject}`,
        `groups\t${who.groups.join(",")}`,
        `admin\t${who.admin ? "yes" : "no"}`,
        `auth\t${who.authMode}`,
      ]);
    },
  );
}

/** The unverified claims of a JWT (for display only: the gateway is the one that verifies). */
function peekClaims(jwt: string | undefined): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(jwt?.split(".")[1] ?? "", "base64url").toString("utf8"));
  } catch {
    return {};
  }
}

function clientIdFrom(given: string | undefined, env: NodeJS.ProcessEnv, saved?: string): string {
  const id = given ?? env.PRISM_CLIENT_ID ?? saved ?? DEFAULT_CLIENT_ID;
  if (!/^[\x21-\x7e]+$/.test(id) || id.length > MAX_CLIENT_ID_CHARS) {
    throw new PrismError(
      "InvalidArgument",
      `the client id must be printable ASCII, at most ${MAX_CLIENT_ID_CHARS} characters`,
    );
  }
  return id;
}
