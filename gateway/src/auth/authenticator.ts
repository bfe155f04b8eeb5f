import type { PeerCertificate } from "node:tls";
import type { Metadata } from "@grpc/grpc-js";
import { ANONYMOUS, type Principal } from "../context.js";
import type { Logger } from "../log.js";
import type { AuthConfig } from "./auth-config.js";
import { unauthenticated } from "./errors.js";
import { MAX_TOKEN_BYTES, OidcVerifier, type OidcVerifierOptions } from "./oidc-verifier.js";

export type AuthMode = AuthConfig["mode"];

/** What the authenticate step knows of a call: its metadata and, over TLS, the client's certificate. */
export interface Credentials {
  readonly metadata: Metadata;
  peerCertificate?(): PeerCertificate | undefined;
}

/**
 * Turns a call's credentials into a principal, or throws PrismError `Unauthenticated` with a
 * reason. Answers synchronously when it can (mode none, mTLS, a cached token), so the hot path
 * allocates no promise.
 */
export interface Authenticator {
  readonly mode: AuthMode;
  authenticate(credentials: Credentials): Principal | Promise<Principal>;
}

/** The authenticator of the configured mode. */
export function createAuthenticator(
  auth: AuthConfig,
  logger: Logger,
  options: OidcVerifierOptions = {},
): Authenticator {
  switch (auth.mode) {
    case "none":
      return { mode: "none", authenticate: () => ANONYMOUS };
    case "mtls":
      return {
        mode: "mtls",
        authenticate: (credentials) => principalOfCertificate(credentials.peerCertificate?.()),
      };
    case "oidc": {
      const verifier = new OidcVerifier(auth.oidc!, options);
      verifier
        .warmUp()
        .catch((error: unknown) =>
          logger.warn(
            { err: (error as Error).message },
            "OIDC issuer keys not fetched yet; will retry on the first call",
          ),
        );
      return {
        mode: "oidc",
        authenticate: (credentials) => authenticateBearer(verifier, credentials.metadata),
      };
    }
  }
}

/** The bearer token of `authorization` metadata, from the cache when verified before. */
export function authenticateBearer(
  verifier: OidcVerifier,
  metadata: Metadata,
): Principal | Promise<Principal> {
  const token = bearerToken(metadata);
  return verifier.cached(token) ?? verifier.verify(token);
}

/**
 * The token of the one `authorization: Bearer …` header. Sizes are checked before anything else
 * looks at the value.
 */
export function bearerToken(metadata: Metadata): string {
  const values = metadata.get("authorization");
  if (values.length === 0)
    throw unauthenticated("no bearer token: send authorization: Bearer <token>", "TOKEN_MISSING");
  if (values.length > 1) throw unauthenticated("more than one authorization header", "TOKEN_MALFORMED");
  const value = values[0];
  if (typeof value !== "string") throw unauthenticated("authorization must be text", "TOKEN_MALFORMED");
  if (value.length > MAX_TOKEN_BYTES + 7)
    throw unauthenticated("bearer token is too large", "TOKEN_MALFORMED");
  if (value.length < 8 || !(value.startsWith("Bearer ") || value.slice(0, 7).toLowerCase() === "bearer ")) {
    throw unauthenticated("authorization must be Bearer <token>", "TOKEN_MALFORMED");
  }
  return value.slice(7);
}

/**
 * mTLS: the TLS layer has already checked the chain against `tls.clientCaFile`; the certificate's
 * subject CN is the subject and each subject OU is a group (SANs are not read).
 */
export function principalOfCertificate(cert: PeerCertificate | undefined): Principal {
  if (!cert?.subject) throw unauthenticated("no client certificate", "CLIENT_CERT_MISSING");
  const subject = first(cert.subject.CN);
  if (!subject || subject.length > 200 || /\s/.test(subject)) {
    throw unauthenticated("client certificate has no usable subject CN", "CLIENT_CERT_INVALID");
  }
  const groups = all(cert.subject.OU).filter((g) => g.length > 0 && g.length <= 200 && !/\s/.test(g));
  return Object.freeze({ subject, groups: Object.freeze(groups.slice(0, 256)) });
}

/** Node gives one attribute as a string, a repeated one as an array. */
function all(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function first(value: string | string[] | undefined): string | undefined {
  return all(value)[0];
}
