import { accessSync, constants } from "node:fs";
import { isIP } from "node:net";
import { z } from "zod";

/**
 * Signature algorithms a token may use. Asymmetric only: `none` and the HMAC family (HS*) are not
 * expressible, so a token signed with the issuer's public key as an HMAC secret can never verify.
 */
export const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;

const group = z.string().regex(/^[^\s]{1,200}$/, "must be 1-200 characters without spaces");
const url = z.string().max(2048).url();
const claimName = z.string().regex(/^[A-Za-z0-9_:./-]{1,100}$/, "must be a claim name (dots for nesting)");

/** `auth.oidc`: the token issuer this gateway trusts. */
export const oidcConfigSchema = z.strictObject({
  /** The `iss` every token must carry; discovery reads `${issuer}/.well-known/openid-configuration`. */
  issuer: url,
  /** The `aud` every token must include (the gateway's client id at the issuer). */
  audience: z.string().min(1).max(500),
  /** The issuer's JWKS; discovered from the issuer when absent. */
  jwksUri: url.optional(),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).default(["RS256", "PS256", "ES256", "EdDSA"]),
  /** The claim holding the caller's groups (an array of strings, or one string). */
  groupsClaim: claimName.default("groups"),
  /** The claim naming the caller. */
  subjectClaim: claimName.default("sub"),
  /** Leeway for `exp` and `nbf` between the issuer's clock and ours. */
  clockSkewSeconds: z.number().int().min(0).max(300).default(30),
  /** Plain http for the issuer and JWKS: allowed only for a loopback issuer (tests). */
  allowInsecureHttp: z.boolean().default(false),
});

/**
 * `auth`: how callers are identified. `none` (loopback listeners only): everyone is `anonymous`.
 * `oidc`: a JWT bearer token in the `authorization` metadata. `mtls`: the client certificate
 * (subject CN → subject, each subject OU → a group); needs `tls.clientCaFile`.
 */
export const authConfigSchema = z
  .strictObject({
    mode: z.enum(["none", "oidc", "mtls"]).default("none"),
    oidc: oidcConfigSchema.optional(),
    /** Groups whose members may call AdminService (WhoAmI excepted: anyone may). */
    adminGroups: z.array(group).max(100).default([]),
  })
  .prefault({});

/**
 * `tls`: TLS for the gRPC listener, in any auth mode. With `clientCaFile`, clients must present a
 * certificate signed by that CA (required by `auth.mode: mtls`).
 */
export const tlsConfigSchema = z
  .strictObject({
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
    clientCaFile: z.string().min(1).optional(),
  })
  .optional();

export type AuthConfig = z.infer<typeof authConfigSchema>;
export type OidcConfig = z.infer<typeof oidcConfigSchema>;
export type TlsConfig = z.infer<typeof tlsConfigSchema>;

/**
 * Cross-field checks `loadConfig` reports with its other problems: each mode has what it needs,
 * plain http only towards a loopback issuer, TLS files readable.
 */
export function authProblems(config: { auth: AuthConfig; tls?: TlsConfig }): string[] {
  const problems: string[] = [];
  const { auth, tls } = config;
  if (auth.mode === "oidc" && !auth.oidc) problems.push("auth.oidc: required when auth.mode is oidc");
  if (auth.oidc) {
    const insecure = auth.oidc.allowInsecureHttp;
    for (const [field, value] of [
      ["issuer", auth.oidc.issuer],
      ["jwksUri", auth.oidc.jwksUri],
    ] as const) {
      if (value === undefined) continue;
      const parsed = new URL(value);
      if (parsed.protocol === "https:") continue;
      if (parsed.protocol !== "http:") problems.push(`auth.oidc.${field}: must be an https URL`);
      else if (!insecure) problems.push(`auth.oidc.${field}: must be https (allowInsecureHttp is for tests)`);
      else if (!isLoopbackHost(parsed.hostname))
        problems.push(`auth.oidc.${field}: allowInsecureHttp is allowed only for a loopback issuer`);
    }
  }
  if (auth.mode === "mtls") {
    if (!tls) problems.push("tls: required when auth.mode is mtls (certFile, keyFile, clientCaFile)");
    else if (!tls.clientCaFile) problems.push("tls.clientCaFile: required when auth.mode is mtls");
  }
  if (tls) {
    for (const field of ["certFile", "keyFile", "clientCaFile"] as const) {
      const file = tls[field];
      if (file === undefined) continue;
      try {
        accessSync(file, constants.R_OK);
      } catch {
        problems.push(`tls.${field}: cannot read ${file}`);
      }
    }
  }
  return problems;
}

function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  return bare === "::1";
}
