import { readFileSync } from "node:fs";
import * as oidc from "openid-client";
import type { Session, SessionUser } from "./sessions.js";

/** The admin UI's OIDC client settings (from the gateway config's `admin.oidc` and `auth.oidc`). */
export interface OidcLoginOptions {
  issuer: string;
  clientId: string;
  /** `env:NAME` or `file:/path`; a public client (PKCE only) without. */
  clientSecret?: string;
  scopes?: string[];
  allowInsecureRequests?: boolean;
}

/** A login in progress expires after this long (the operator types a password at the issuer). */
const LOGIN_TTL_MS = 10 * 60_000;

/** Reads a secret reference: `env:NAME` or `file:/path`; never a literal. */
function secretOf(reference: string): string {
  if (reference.startsWith("env:")) {
    const value = process.env[reference.slice(4)];
    if (!value)
      throw new Error(`admin.oidc.clientSecret: environment variable ${reference.slice(4)} is not set`);
    return value;
  }
  return readFileSync(reference.slice(5), "utf8").trim();
}

/**
 * The authorization code flow with PKCE (S256) for the admin UI: `begin` stores a verifier and a
 * state in the session and returns the issuer's URL; `complete` checks the state, exchanges the
 * code and returns the access token — which the gateway then verifies on every AdminService call,
 * exactly as it verifies prismctl's. The issuer's configuration is discovered once, lazily (a
 * gateway whose issuer is down still starts; logins fail with a clear message until it is back).
 */
export class OidcLogin {
  private config: Promise<oidc.Configuration> | undefined;
  private readonly scope: string;

  constructor(private readonly options: OidcLoginOptions) {
    this.scope = (options.scopes ?? ["openid"]).join(" ");
  }

  async begin(session: Session, redirectUri: string): Promise<URL> {
    const config = await this.configuration();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    session.login = { verifier, state, startedAt: Date.now() };
    return oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
    });
  }

  /** Exchanges the callback's code; throws on a wrong or stale state, an issuer error or no token. */
  async complete(session: Session, callback: URL): Promise<Pick<SessionUser, "accessToken" | "expiresAt">> {
    const login = session.login;
    delete session.login;
    if (!login || Date.now() - login.startedAt > LOGIN_TTL_MS) {
      throw new Error("no login in progress in this browser (or it took over 10 minutes); start again");
    }
    const config = await this.configuration();
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
    });
    const expiresIn = tokens.expiresIn();
    return {
      accessToken: tokens.access_token,
      expiresAt: Date.now() + (expiresIn ?? 300) * 1000,
    };
  }

  private configuration(): Promise<oidc.Configuration> {
    this.config ??= (async () => {
      const { issuer, clientId, clientSecret, allowInsecureRequests } = this.options;
      const auth = clientSecret ? oidc.ClientSecretPost(secretOf(clientSecret)) : oidc.None();
      return oidc.discovery(new URL(issuer), clientId, undefined, auth, {
        timeout: 10,
        ...(allowInsecureRequests && { execute: [oidc.allowInsecureRequests] }),
      });
    })();
    // A failed discovery is retried on the next login, not remembered.
    this.config.catch(() => {
      this.config = undefined;
    });
    return this.config;
  }
}
