import { createPublicKey, type JsonWebKey, verify } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestIssuer, type TestIssuer } from "./oidc-issuer.js";

/** The test issuer's tokens are what the gateway's tests assume: checked against its own JWKS. */

let issuer: TestIssuer;
let keys: (JsonWebKey & { kid: string })[];

beforeAll(async () => {
  issuer = await startTestIssuer();
  keys = ((await (await fetch(issuer.jwksUri)).json()) as { keys: (JsonWebKey & { kid: string })[] }).keys;
});
afterAll(() => issuer?.stop());

function decode(token: string) {
  const [header, payload, signature] = token.split(".");
  const parse = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  const jwk = keys.find((k) => k.kid === parse(header!).kid);
  const valid =
    jwk !== undefined &&
    verify(
      "sha256",
      Buffer.from(`${header}.${payload}`),
      createPublicKey({ key: jwk, format: "jwk" }),
      Buffer.from(signature!, "base64url"),
    );
  return { header: parse(header!), claims: parse(payload!), valid };
}

describe("test issuer", () => {
  it("publishes its discovery document with the flows prismctl uses", async () => {
    const doc = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(doc).toMatchObject({ issuer: issuer.issuer, jwks_uri: issuer.jwksUri });
    expect(doc.grant_types_supported).toEqual(
      expect.arrayContaining([
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
      ]),
    );
    expect(doc.revocation_endpoint).toBe(`${issuer.issuer}/token/revocation`);
  });

  it("issues JWT access tokens for the audience prism with the user's groups, and refresh tokens", async () => {
    const tokens = await issuer.tokenFor("carol");
    const { header, claims, valid } = decode(tokens.accessToken);
    expect(valid).toBe(true);
    expect(header).toMatchObject({ alg: "RS256", typ: "at+jwt" });
    expect(claims).toMatchObject({ iss: issuer.issuer, aud: "prism", sub: "carol", groups: ["support"] });
    expect(tokens.refreshToken).toBeTruthy();
    await expect(issuer.tokenFor("mallory")).rejects.toThrow();
  });

  it("mints tokens signed by its key, or forged, unsigned, expired or foreign as asked", () => {
    const now = Date.now() / 1000;
    const good = decode(issuer.mint({ sub: "bob" }));
    expect(good.valid).toBe(true);
    expect(good.claims).toMatchObject({ sub: "bob", groups: ["profiles-writers"], aud: "prism" });
    expect(decode(issuer.mint({ expiresIn: -60 })).claims.exp).toBeLessThan(now);
    expect(decode(issuer.mint({ notBefore: 600 })).claims.nbf).toBeGreaterThan(now);
    expect(decode(issuer.mint({ foreignKey: true })).valid).toBe(false);
    expect(decode(issuer.mint({ kid: "nobody" })).valid).toBe(false);
    const unsigned = issuer.mint({ alg: "none" });
    expect(unsigned.endsWith(".")).toBe(true);
    expect(decode(unsigned).header.alg).toBe("none");
    expect(decode(issuer.mint({ iss: "https://other.example.com", aud: "x" })).claims).toMatchObject({
      iss: "https://other.example.com",
      aud: "x",
    });
  });
});
