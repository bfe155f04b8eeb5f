import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Metadata } from "@grpc/grpc-js";
import { isPrismError, type PrismError } from "@prism/core";
import { CompactSign, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oidcConfigSchema } from "./auth-config.js";
import { authenticateBearer, bearerToken } from "./authenticator.js";
import { OidcVerifier } from "./oidc-verifier.js";

/** A JWKS (and discovery document) served from 127.0.0.1, whose keys a test can change. */
class JwksServer {
  keys: JWK[] = [];
  fetches = 0;
  private server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = createServer((request, response) => {
      if (request.url === "/.well-known/openid-configuration") {
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify({ issuer: this.issuer, jwks_uri: `${this.issuer}/jwks` }));
        return;
      }
      if (request.url === "/jwks") {
        this.fetches++;
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify({ keys: this.keys }));
        return;
      }
      response.statusCode = 404;
      response.end();
    });
    await new Promise<void>((done) => this.server!.listen(port, "127.0.0.1", done));
    this.port = (this.server.address() as AddressInfo).port;
  }

  get issuer(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise((done) => server?.close(done));
  }
}

interface SigningKey {
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  jwk: JWK;
}

async function signingKey(kid: string, alg = "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

const AUDIENCE = "prism-gateway";
const hour = 3600;
const now = () => Math.floor(Date.now() / 1000);

function config(issuer: string) {
  return oidcConfigSchema.parse({ issuer, audience: AUDIENCE, allowInsecureHttp: true });
}

/** A token as the issuer would mint it; `claims` and `header` override the defaults. */
function mint(
  key: SigningKey,
  issuer: string,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const defaults = {
    sub: "alice",
    iss: issuer,
    aud: AUDIENCE,
    iat: now(),
    exp: now() + hour,
    groups: ["readers"],
  };
  return new SignJWT({ ...defaults, ...claims })
    .setProtectedHeader({ alg: "RS256", kid: key.kid, ...header })
    .sign(key.privateKey);
}

/** The reason a verification failed with (fails the test if it succeeded). */
async function reasonOf(verifier: OidcVerifier, token: string): Promise<string> {
  const error = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isPrismError(error), String(error)).toBe(true);
  const prismError = error as PrismError;
  // Never the library's text or a stack: one of our own messages.
  expect(prismError.message).not.toMatch(
    /Protected Header|claim timestamp|signature verification|jose|\n {4}at /,
  );
  return prismError.kind === "Unauthenticated"
    ? prismError.reason
    : `${prismError.kind}:${prismError.reason}`;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("OidcVerifier", () => {
  const jwks = new JwksServer();
  let key: SigningKey;
  let other: SigningKey;
  let verifier: OidcVerifier;

  beforeAll(async () => {
    await jwks.start();
    key = await signingKey("k1");
    other = await signingKey("k1"); // same kid, other key: a forgery
    jwks.keys = [key.jwk];
    verifier = new OidcVerifier(config(jwks.issuer), { cooldownMs: 0 });
  });
  afterAll(() => jwks.stop());

  it("accepts a valid token (keys found by discovery) and maps sub and groups", async () => {
    const principal = await verifier.verify(await mint(key, jwks.issuer, { groups: ["readers", "writers"] }));
    expect(principal).toEqual({ subject: "alice", groups: ["readers", "writers"] });
  });

  it("serves a verified token from the cache until it expires", async () => {
    const token = await mint(key, jwks.issuer, { sub: "cached-user" });
    expect(verifier.cached(token)).toBeUndefined();
    await verifier.verify(token);
    expect(verifier.cached(token)?.subject).toBe("cached-user");
    // Same signature (the cache key's part), other claims: not a hit, and its signature fails.
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    const tampered = `${header}.${b64({ ...claims, sub: "mallory" })}.${signature}`;
    expect(verifier.cached(tampered)).toBeUndefined();
    expect(await reasonOf(verifier, tampered)).toBe("TOKEN_SIGNATURE");
    const md = new Metadata();
    md.set("authorization", `Bearer ${token}`);
    // The hot path answers synchronously, without a promise.
    expect(authenticateBearer(verifier, md)).toMatchObject({ subject: "cached-user" });

    // Seconds, not one: on a loaded machine minting and verifying took longer than a second.
    const exp = now() + 3;
    const shortLived = await mint(key, jwks.issuer, { exp });
    await verifier.verify(shortLived);
    expect(verifier.cached(shortLived)).toBeDefined();
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 1100));
    expect(verifier.cached(shortLived)).toBeUndefined();
  });

  it("reads a nested groups claim and a custom subject claim", async () => {
    const nested = new OidcVerifier(
      oidcConfigSchema.parse({
        issuer: jwks.issuer,
        audience: AUDIENCE,
        allowInsecureHttp: true,
        groupsClaim: "realm_access.roles",
        subjectClaim: "email",
      }),
    );
    const token = await mint(key, jwks.issuer, {
      email: "a@example.test",
      realm_access: { roles: ["ops", 7] },
    });
    expect(await nested.verify(token)).toEqual({ subject: "a@example.test", groups: ["ops"] });
    expect(await reasonOf(nested, await mint(key, jwks.issuer))).toBe("TOKEN_CLAIMS");
  });

  it("refuses each bad token with its own reason", async () => {
    const iss = jwks.issuer;
    const cases: [string, Promise<string> | string][] = [
      ["TOKEN_SIGNATURE", mint(other, iss)],
      ["TOKEN_EXPIRED", mint(key, iss, { exp: now() - 120 })],
      ["TOKEN_NOT_YET_VALID", mint(key, iss, { nbf: now() + 600 })],
      ["TOKEN_ISSUER", mint(key, "https://evil.example")],
      ["TOKEN_AUDIENCE", mint(key, iss, { aud: "someone-else" })],
      ["TOKEN_KEY_UNKNOWN", mint(await signingKey("k-unknown"), iss)],
      ["TOKEN_MALFORMED", "garbage"],
      ["TOKEN_MALFORMED", "a.b.c"],
      ["TOKEN_MALFORMED", `${b64({ alg: "RS256", kid: "k1" })}.${"!!notbase64"}.sig`],
      // Signed by the real key, but the payload is not JSON.
      [
        "TOKEN_MALFORMED",
        new CompactSign(new TextEncoder().encode("{not json"))
          .setProtectedHeader({ alg: "RS256", kid: "k1" })
          .sign(key.privateKey),
      ],
      // Not JSON and not signed by the key: the signature is checked first.
      [
        "TOKEN_SIGNATURE",
        `${b64({ alg: "RS256", kid: "k1" })}.${Buffer.from("{not json").toString("base64url")}.c2ln`,
      ],
      ["TOKEN_MALFORMED", "x".repeat(9000)],
      ["TOKEN_CLAIMS", mint(key, iss, { sub: "has space" })],
    ];
    for (const [reason, token] of cases) expect(await reasonOf(verifier, await token), reason).toBe(reason);
  });

  it("allows a small clock skew and no more", async () => {
    expect((await verifier.verify(await mint(key, jwks.issuer, { exp: now() - 10 }))).subject).toBe("alice");
    expect(await reasonOf(verifier, await mint(key, jwks.issuer, { exp: now() - 45 }))).toBe("TOKEN_EXPIRED");
  });

  it("refuses alg none and HS256 signed with the issuer's public key as the secret", async () => {
    const claims = { sub: "mallory", iss: jwks.issuer, aud: AUDIENCE, exp: now() + hour, groups: ["admins"] };
    const none = `${b64({ alg: "none", kid: "k1" })}.${b64(claims)}.`;
    expect(await reasonOf(verifier, none)).toBe("TOKEN_ALGORITHM");

    const secret = new TextEncoder().encode(JSON.stringify(key.jwk));
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: "k1" }).sign(secret);
    expect(await reasonOf(verifier, hs)).toBe("TOKEN_ALGORITHM");
    // A token without exp would never expire: refused.
    const noExp = await new SignJWT({ sub: "bob" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(jwks.issuer)
      .setAudience(AUDIENCE)
      .sign(key.privateKey);
    expect(await reasonOf(verifier, noExp)).toBe("TOKEN_CLAIMS");
  });

  it("picks up a rotated key: an unknown kid refetches the JWKS", async () => {
    const rotated = await signingKey("k2", "ES256");
    const before = jwks.fetches;
    jwks.keys = [key.jwk, rotated.jwk];
    const token = await new SignJWT({ groups: [] })
      .setProtectedHeader({ alg: "ES256", kid: "k2" })
      .setSubject("carol")
      .setIssuer(jwks.issuer)
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + hour)
      .sign(rotated.privateKey);
    expect((await verifier.verify(token)).subject).toBe("carol");
    expect(jwks.fetches).toBeGreaterThan(before);
  });
});

describe("OidcVerifier when the JWKS endpoint is down", () => {
  it("keeps verifying with cached keys, even past their max age; unknown keys fail cleanly", async () => {
    const jwks = new JwksServer();
    await jwks.start();
    const key = await signingKey("k1");
    jwks.keys = [key.jwk];
    // cacheMaxAge 0: jose alone would refetch (and fail) on every call.
    const verifier = new OidcVerifier(config(jwks.issuer), { cacheMaxAgeMs: 0, cooldownMs: 0, cacheSize: 0 });
    await verifier.warmUp();
    await jwks.stop();

    // cacheSize 0: nothing is served from the token cache; every call verifies with the keys.
    for (let i = 0; i < 3; i++) {
      const token = await mint(key, jwks.issuer, { sub: `user-${i}` });
      expect((await verifier.verify(token)).subject).toBe(`user-${i}`);
    }
    expect(await reasonOf(verifier, await mint(await signingKey("k9"), jwks.issuer))).toBe(
      "TOKEN_KEY_UNKNOWN",
    );
  });

  it("answers UNAVAILABLE (ISSUER_UNAVAILABLE) when no key was ever fetched", async () => {
    const jwks = new JwksServer();
    await jwks.start();
    const issuer = jwks.issuer;
    await jwks.stop();
    const verifier = new OidcVerifier(config(issuer), { fetchTimeoutMs: 2000 });
    const key = await signingKey("k1");
    expect(await reasonOf(verifier, await mint(key, issuer))).toBe("Unavailable:ISSUER_UNAVAILABLE");
  });
});

describe("bearerToken", () => {
  const md = (...values: (string | Buffer)[]) => {
    const metadata = new Metadata();
    for (const value of values)
      metadata.add(typeof value === "string" ? "authorization" : "authorization-bin", value);
    return metadata;
  };
  const reason = (metadata: Metadata) => {
    try {
      bearerToken(metadata);
      return "accepted";
    } catch (error) {
      return (error as PrismError).reason;
    }
  };

  it("takes the one Bearer token and refuses anything else with a reason", () => {
    expect(bearerToken(md("Bearer abc.def.ghi"))).toBe("abc.def.ghi");
    expect(bearerToken(md("bearer abc.def.ghi"))).toBe("abc.def.ghi");
    expect(reason(md())).toBe("TOKEN_MISSING");
    expect(reason(md("Basic dXNlcjpwdw=="))).toBe("TOKEN_MALFORMED");
    expect(reason(md("Bearer a.b.c", "Bearer d.e.f"))).toBe("TOKEN_MALFORMED");
    expect(reason(md(`Bearer ${"a".repeat(10_000)}`))).toBe("TOKEN_MALFORMED");
  });
});
