import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

/** The audience the minter's tokens carry by default. */
export const MINTER_AUDIENCE = "prism-gateway";

/** A signing key and its public JWK (with `kid`). */
export interface MinterKey {
  kid: string;
  alg: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  jwk: JWK;
}

/**
 * A token issuer reduced to what a gateway verifies against: a discovery document and a JWKS
 * served by `node:http` on 127.0.0.1, and tokens signed with `jose`. Tests mint good and bad tokens
 * (expired, other audience, unknown key …) and rotate keys by changing {@link published}. Not an
 * OpenID provider: no login, no flows (`oidc-issuer.ts` is that).
 *
 * @example const minter = await startTokenMinter(); const token = await minter.mint({ sub: "alice", groups: ["readers"] });
 */
export class TokenMinter {
  /** The keys the JWKS endpoint publishes. */
  published: JWK[] = [];
  /** Requests the JWKS endpoint answered. */
  jwksFetches = 0;
  private constructor(
    private readonly server: Server,
    readonly issuer: string,
    readonly key: MinterKey,
  ) {}

  static async start(): Promise<TokenMinter> {
    let self: TokenMinter | undefined;
    const server = createServer((request, response) => {
      response.setHeader("content-type", "application/json");
      if (request.url === "/.well-known/openid-configuration") {
        response.end(JSON.stringify({ issuer: self!.issuer, jwks_uri: `${self!.issuer}/jwks` }));
      } else if (request.url === "/jwks") {
        self!.jwksFetches++;
        response.end(JSON.stringify({ keys: self!.published }));
      } else {
        response.statusCode = 404;
        response.end("{}");
      }
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    self = new TokenMinter(server, issuer, await newKey("key-1"));
    self.published = [self.key.jwk];
    return self;
  }

  /**
   * A token signed by `key` (the published one by default): `sub`, `iss`, `aud`, `iat` and `exp`
   * (in an hour) unless `claims` overrides them.
   */
  mint(claims: Record<string, unknown> = {}, key: MinterKey = this.key): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      sub: "test-user",
      iss: this.issuer,
      aud: MINTER_AUDIENCE,
      iat: now,
      exp: now + 3600,
      ...claims,
    })
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .sign(key.privateKey);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((done) => this.server.close(done));
  }
}

/** A fresh signing key (RS256 unless told), not published until a test adds its `jwk`. */
export async function newKey(kid: string, alg = "RS256"): Promise<MinterKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

export const startTokenMinter = () => TokenMinter.start();
