/**
 * A real OpenID provider for tests: `oidc-provider` (v8, the line that supports Node 20) running in
 * the test process on 127.0.0.1 and a random port.
 *
 * - Users (login = subject, any password) and their groups: `alice` (profiles-readers), `bob`
 *   (profiles-writers), `carol` (support), `root` (prism-admins); `startTestIssuer({ users })`
 *   replaces them.
 * - One public client, `prismctl` (no secret): device code grant, authorization code with PKCE
 *   (S256, required) and refresh tokens. Its redirect URIs are `http://127.0.0.1/callback` and
 *   `http://localhost/callback`; being a native client, any port is accepted (RFC 8252 §7.3).
 *   Refresh tokens need the `offline_access` scope (and `prompt=consent` in the code flow).
 * - A second public client, `prism-admin` (the admin web UI): authorization code with PKCE,
 *   redirecting to `http://127.0.0.1:ANY/auth/callback`.
 * - Access tokens are JWTs (RS256) for the resource `urn:prism:gateway` — the default resource, so
 *   clients need not ask for it — with `aud: "prism"` and a `groups` claim. `accessTokenTTL`
 *   (seconds, default 300) makes them short-lived for refresh tests.
 * - The dev interactions (login and consent forms) stay on; {@link TestIssuer.approveDevice} and
 *   {@link TestIssuer.authorize} drive them over HTTP like a browser would (cookies, forms,
 *   redirects), so no test needs a browser or a human.
 * - {@link TestIssuer.mint} signs arbitrary tokens with the issuer's own key (or a stranger's):
 *   expired, not yet valid, wrong issuer or audience, unknown key id — for the gateway's tests.
 *
 * Keys (signing and cookies) are generated at start and live in memory only.
 *
 * @example
 * const issuer = await startTestIssuer();
 * const { accessToken } = await issuer.tokenFor("alice");
 * await issuer.stop();
 */
import {
  createHash,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  randomBytes,
  sign,
} from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { type Configuration, errors } from "oidc-provider";
import { UserAgent } from "./issuer-user-agent.js";

/** The test users by login, each with their groups. */
export const TEST_USERS: Readonly<Record<string, readonly string[]>> = {
  alice: ["profiles-readers"],
  bob: ["profiles-writers"],
  carol: ["support"],
  root: ["prism-admins"],
};

export const TEST_CLIENT_ID = "prismctl";
/** The admin web UI's client (`admin.oidc.clientId`): redirects to `http://127.0.0.1:ANY/auth/callback`. */
export const TEST_ADMIN_CLIENT_ID = "prism-admin";
export const TEST_AUDIENCE = "prism";
export const TEST_RESOURCE = "urn:prism:gateway";
export const TEST_GROUPS_CLAIM = "groups";

export interface TestIssuerOptions {
  /** Lifetime of access tokens in seconds (default 300). */
  accessTokenTTL?: number;
  /** Replaces {@link TEST_USERS}. */
  users?: Record<string, readonly string[]>;
  /** false: an issuer without the device code flow (default true). */
  deviceFlow?: boolean;
}

export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

/** Claims and header fields of a token made by {@link TestIssuer.mint}. */
export interface MintOptions {
  sub?: string;
  groups?: string[];
  /** Default: the issuer. */
  iss?: string;
  /** Default: `prism`. */
  aud?: string | string[];
  /** Seconds from now until `exp`; negative = already expired (default 300). */
  expiresIn?: number;
  /** Seconds from now until `nbf` (default: no `nbf`). */
  notBefore?: number;
  /** Default: the issuer's key id. */
  kid?: string;
  /** Sign with a key the issuer never published (a forged signature). */
  foreignKey?: boolean;
  /** `none` makes an unsigned token. */
  alg?: "RS256" | "none";
  /** More claims. */
  extra?: Record<string, unknown>;
}

export interface TestIssuer {
  /** `http://127.0.0.1:PORT` — the `iss` of every token. */
  issuer: string;
  jwksUri: string;
  clientId: string;
  audience: string;
  resource: string;
  /** Runs the authorization code + PKCE flow over HTTP as `user` and redeems the code. */
  tokenFor(user: string, options?: { scope?: string }): Promise<TokenSet>;
  /**
   * Follows an authorization URL (as a client printed it) as `user` through login and consent,
   * then requests the redirect it ends on (the client's loopback callback) and returns that URL.
   */
  authorize(authorizationUrl: string, user: string): Promise<URL>;
  /** Enters `userCode` on the issuer's device page as `user`, logs in and consents. */
  approveDevice(userCode: string, user: string): Promise<void>;
  /** Signs a token with the issuer's key (see {@link MintOptions}). */
  mint(options?: MintOptions): string;
  /** Grants revoked so far (a refresh token revoked at the revocation endpoint revokes its grant). */
  revokedGrants(): number;
  stop(): Promise<void>;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

function rsaKey(): { privateKey: KeyObject; jwk: JsonWebKey } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privateKey, jwk: privateKey.export({ format: "jwk" }) };
}

/** Starts the issuer; `stop()` it in `afterAll`. */
export async function startTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const users = options.users ?? TEST_USERS;
  const accessTokenTTL = options.accessTokenTTL ?? 300;
  const signing = rsaKey();
  const kid = base64url(randomBytes(8));
  const foreign = rsaKey();

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let revokedGrants = 0;

  const configuration: Configuration = {
    clients: [
      {
        client_id: TEST_CLIENT_ID,
        client_name: "prismctl",
        application_type: "native",
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
        response_types: ["code"],
        redirect_uris: ["http://127.0.0.1/callback", "http://localhost/callback"],
      },
      {
        // The admin web UI's login: a public client with PKCE on a loopback port of any number.
        client_id: TEST_ADMIN_CLIENT_ID,
        client_name: "prism admin UI",
        application_type: "native",
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code"],
        response_types: ["code"],
        redirect_uris: ["http://127.0.0.1/auth/callback", "http://localhost/auth/callback"],
      },
    ],
    jwks: { keys: [{ ...signing.jwk, kid, alg: "RS256", use: "sig" } as never] },
    cookies: { keys: [base64url(randomBytes(32))] },
    async findAccount(_ctx, id) {
      const groups = users[id];
      if (!groups) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, groups: [...groups] }) };
    },
    claims: { openid: ["sub"], groups: [TEST_GROUPS_CLAIM] },
    scopes: ["openid", "offline_access", "groups"],
    async extraTokenClaims(_ctx, token) {
      const groups = "accountId" in token && token.accountId ? users[token.accountId] : undefined;
      return groups ? { [TEST_GROUPS_CLAIM]: [...groups] } : undefined;
    },
    pkce: { required: () => true, methods: ["S256"] },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: {
        enabled: options.deviceFlow ?? true,
        // Plain pages around oidc-provider's own forms (its defaults print a notice on each use).
        async userCodeInputSource(ctx, form) {
          ctx.body = `<!DOCTYPE html><title>Device</title>${form}`;
        },
        async userCodeConfirmSource(ctx, form) {
          ctx.body = `<!DOCTYPE html><title>Confirm</title>${form}`;
        },
        async successSource(ctx) {
          ctx.body = "<!DOCTYPE html><title>Device approved</title><p>device approved</p>";
        },
      },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => TEST_RESOURCE,
        useGrantedResource: () => true,
        async getResourceServerInfo(_ctx, resource) {
          if (resource !== TEST_RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: "prism",
            audience: TEST_AUDIENCE,
            accessTokenFormat: "jwt",
            accessTokenTTL,
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? accessTokenTTL,
      AuthorizationCode: 60,
      DeviceCode: 600,
      Grant: 3600,
      IdToken: 3600,
      Interaction: 600,
      RefreshToken: 3600,
      Session: 3600,
    },
    // Errors as plain text, so a failing test shows the OAuth error and its description.
    renderError(ctx, out) {
      ctx.type = "text";
      ctx.body = `${out.error}: ${out.error_description ?? ""}`;
    },
  };
  const provider = new Provider(issuer, configuration);
  provider.on("grant.revoked", () => {
    revokedGrants++;
  });
  server.on("request", provider.callback());

  // A fresh user agent (cookie jar) per flow: one user's session never carries over to another.
  const origin = new URL(issuer).origin;

  async function authorize(authorizationUrl: string, user: string): Promise<URL> {
    const end = await new UserAgent(origin).browse(new URL(authorizationUrl), { user });
    if (!end) throw new Error("the authorization flow did not redirect back to the client");
    // The client's loopback server (if any) gets the code, as a browser would deliver it.
    if (end.hostname === "127.0.0.1" && end.port) await fetch(end).then((r) => r.text());
    return end;
  }

  async function tokenFor(user: string, { scope = "openid offline_access" } = {}): Promise<TokenSet> {
    const verifier = base64url(randomBytes(32));
    const redirectUri = "http://127.0.0.1/callback";
    const url = new URL("/auth", issuer);
    url.search = new URLSearchParams({
      client_id: TEST_CLIENT_ID,
      response_type: "code",
      redirect_uri: redirectUri,
      scope,
      prompt: "consent",
      code_challenge: base64url(createHash("sha256").update(verifier).digest()),
      code_challenge_method: "S256",
      state: base64url(randomBytes(8)),
    }).toString();
    const end = await new UserAgent(origin).browse(url, { user });
    const code = end?.searchParams.get("code");
    if (!code) throw new Error(`no code in the redirect: ${end?.searchParams.get("error") ?? "none"}`);
    const response = await fetch(new URL("/token", issuer), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: TEST_CLIENT_ID,
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      }),
    });
    const body = (await response.json()) as Record<string, string | number>;
    if (!response.ok) throw new Error(`token request failed: ${body.error} ${body.error_description}`);
    return {
      accessToken: body.access_token as string,
      ...(body.refresh_token !== undefined && { refreshToken: body.refresh_token as string }),
      ...(body.id_token !== undefined && { idToken: body.id_token as string }),
      expiresAt: Math.floor(Date.now() / 1000) + Number(body.expires_in),
    };
  }

  function mint(o: MintOptions = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const alg = o.alg ?? "RS256";
    const header = { alg, typ: "at+jwt", ...(alg !== "none" && { kid: o.kid ?? kid }) };
    const payload = {
      iss: o.iss ?? issuer,
      aud: o.aud ?? TEST_AUDIENCE,
      sub: o.sub ?? "alice",
      client_id: TEST_CLIENT_ID,
      iat: now,
      exp: now + (o.expiresIn ?? 300),
      jti: base64url(randomBytes(12)),
      [TEST_GROUPS_CLAIM]: o.groups ?? [...(users[o.sub ?? "alice"] ?? [])],
      ...(o.notBefore !== undefined && { nbf: now + o.notBefore }),
      ...o.extra,
    };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    if (alg === "none") return `${input}.`;
    const key = o.foreignKey ? foreign.privateKey : signing.privateKey;
    return `${input}.${base64url(sign("sha256", Buffer.from(input), key))}`;
  }

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    clientId: TEST_CLIENT_ID,
    audience: TEST_AUDIENCE,
    resource: TEST_RESOURCE,
    tokenFor,
    authorize,
    approveDevice: async (userCode, user) => {
      await new UserAgent(origin).browse(new URL("/device", issuer), { user, userCode });
    },
    mint,
    revokedGrants: () => revokedGrants,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
