import { PrismError } from "@prism/core";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import type { Principal } from "../context.js";
import type { OidcConfig } from "./auth-config.js";
import { unauthenticated } from "./errors.js";

/** Longest bearer token accepted; longer ones are refused before any parsing. */
export const MAX_TOKEN_BYTES = 8 * 1024;
/** Groups taken from one token; a longer list is cut (never an error: issuers differ). */
const MAX_GROUPS = 256;
const MAX_NAME_CHARS = 200;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Tuning that the config does not expose (tests shorten it). */
export interface OidcVerifierOptions {
  /** Verified tokens remembered (until each one's `exp`); the oldest goes first. Default 4096. */
  cacheSize?: number;
  /** After a fetch of the JWKS, an unknown `kid` triggers no refetch for this long. Default 30 s. */
  cooldownMs?: number;
  /** The JWKS is fetched again after this long (a failed fetch keeps the old keys). Default 10 min. */
  cacheMaxAgeMs?: number;
  /** After a failed JWKS fetch, cached keys serve alone for this long before the next try. Default 30 s. */
  retryMs?: number;
  /** Timeout of one discovery or JWKS fetch. Default 5 s. */
  fetchTimeoutMs?: number;
}

interface CachedToken {
  /** The whole token: a hit must equal it, not just share the key. */
  token: string;
  principal: Principal;
  /** Epoch ms at which the token expires: never served from the cache after that. */
  expiresAt: number;
}

/**
 * Verifies OIDC bearer tokens (JWTs) with `jose`: signature against the issuer's JWKS (cached,
 * refetched on an unknown `kid`, i.e. key rotation), the algorithm allow-list, `iss`, `aud`, `exp`
 * and `nbf` with the configured clock skew. A verified token is remembered until it expires, so
 * the hot path is one Map lookup. Every failure is a PrismError `Unauthenticated` with a reason
 * (`TOKEN_…`); a JWKS that cannot be fetched and no key to verify with is `Unavailable`
 * (`ISSUER_UNAVAILABLE`): retrying helps there, a new token does not.
 *
 * @example const principal = await new OidcVerifier(config.auth.oidc).verify(token)
 */
export class OidcVerifier {
  private readonly cache = new Map<string, CachedToken>();
  private readonly cacheSize: number;
  private readonly keys: KeySource;
  private readonly groupsPath: readonly string[];
  private readonly subjectPath: readonly string[];

  constructor(
    private readonly config: OidcConfig,
    options: OidcVerifierOptions = {},
  ) {
    this.cacheSize = options.cacheSize ?? 4096;
    this.keys = new KeySource(config, options);
    this.groupsPath = config.groupsClaim.split(".");
    this.subjectPath = config.subjectClaim.split(".");
  }

  /** Fetches discovery and the JWKS ahead of the first call; a failure is retried by that call. */
  warmUp(): Promise<void> {
    return this.keys.warmUp();
  }

  /**
   * The principal of a token verified before and not yet expired, without any work: one Map
   * lookup keyed by the signature's last characters (cheap to hash, unlike the whole token, which
   * arrives as a new string on every call), then a comparison of the whole token.
   */
  cached(token: string): Principal | undefined {
    const key = cacheKey(token);
    const hit = this.cache.get(key);
    if (hit === undefined || hit.token !== token) return undefined;
    if (Date.now() < hit.expiresAt) return hit.principal;
    this.cache.delete(key);
    return undefined;
  }

  /** The principal of a valid token; throws PrismError otherwise. Uses the cache first. */
  async verify(token: string): Promise<Principal> {
    const hit = this.cached(token);
    if (hit) return hit;
    if (token.length > MAX_TOKEN_BYTES) throw unauthenticated("bearer token is too large", "TOKEN_MALFORMED");
    if (!COMPACT_JWS.test(token)) throw unauthenticated("bearer token is not a JWT", "TOKEN_MALFORMED");
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys.getKey, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: [...this.config.algorithms],
        clockTolerance: this.config.clockSkewSeconds,
        requiredClaims: ["exp"],
      }));
    } catch (error) {
      throw tokenError(error);
    }
    const principal = this.principalOf(payload);
    this.remember(token, principal, (payload.exp as number) * 1000);
    return principal;
  }

  private principalOf(payload: JWTPayload): Principal {
    const subject = claim(payload, this.subjectPath);
    if (
      typeof subject !== "string" ||
      subject.length === 0 ||
      subject.length > MAX_NAME_CHARS ||
      /\s/.test(subject)
    ) {
      throw unauthenticated(`token has no usable ${this.config.subjectClaim} claim`, "TOKEN_CLAIMS");
    }
    const raw = claim(payload, this.groupsPath);
    const list = typeof raw === "string" ? [raw] : Array.isArray(raw) ? raw : [];
    const groups = list
      .filter((g): g is string => typeof g === "string" && g.length > 0 && g.length <= MAX_NAME_CHARS)
      .slice(0, MAX_GROUPS);
    return Object.freeze({ subject, groups: Object.freeze(groups) });
  }

  private remember(token: string, principal: Principal, expiresAt: number): void {
    if (this.cacheSize <= 0) return;
    if (this.cache.size >= this.cacheSize) {
      // Expired entries first; if none, the oldest (Map keeps insertion order).
      const now = Date.now();
      for (const [key, entry] of this.cache) if (entry.expiresAt <= now) this.cache.delete(key);
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(cacheKey(token), { token, principal, expiresAt });
  }
}

/**
 * The last 32 characters of a token: of its signature, 192 random bits for honest tokens. Two
 * tokens sharing them only displace each other (a hit still needs the whole token to be equal).
 */
function cacheKey(token: string): string {
  return token.length > 32 ? token.slice(-32) : token;
}

/** A claim by dotted path (`realm_access.roles`); undefined when any step is missing. */
function claim(payload: JWTPayload, path: readonly string[]): unknown {
  let value: unknown = payload;
  for (const step of path) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, step)) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/** jose's failure → the client's reason. The message names the check, never the token's content. */
function tokenError(error: unknown): PrismError {
  if (error instanceof PrismError) return error;
  if (error instanceof errors.JWTExpired) return unauthenticated("token has expired", "TOKEN_EXPIRED");
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "nbf":
        return unauthenticated("token is not valid yet", "TOKEN_NOT_YET_VALID");
      case "iss":
        return unauthenticated("token is from another issuer", "TOKEN_ISSUER");
      case "aud":
        return unauthenticated("token is for another audience", "TOKEN_AUDIENCE");
      default:
        return unauthenticated(`token claim ${error.claim} is missing or invalid`, "TOKEN_CLAIMS");
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return unauthenticated("token algorithm is not allowed", "TOKEN_ALGORITHM");
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return unauthenticated("token signature is invalid", "TOKEN_SIGNATURE");
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return unauthenticated("token is signed with a key the issuer does not publish", "TOKEN_KEY_UNKNOWN");
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return unauthenticated("bearer token is malformed", "TOKEN_MALFORMED");
  }
  if (error instanceof errors.JOSEError && error.code === "ERR_JWK_INVALID") {
    return unauthenticated("bearer token is malformed", "TOKEN_MALFORMED");
  }
  return issuerUnavailable(error);
}

function issuerUnavailable(cause: unknown): PrismError {
  return new PrismError("Unavailable", "the token issuer's keys cannot be fetched; retry later", {
    reason: "ISSUER_UNAVAILABLE",
    cause,
  });
}

/**
 * The issuer's signing keys: jose's remote JWKS (cache, cooldown, refetch on unknown `kid`) behind
 * a guard that keeps verifying with the last keys fetched while the JWKS endpoint is down (jose
 * alone would fail every call once its cache is older than cacheMaxAge), trying the endpoint again
 * every `retryMs`.
 */
class KeySource {
  private remote: ReturnType<typeof createRemoteJWKSet> | undefined;
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  private failedAt = Number.NEGATIVE_INFINITY;
  private readonly retryMs: number;
  private readonly fetchTimeoutMs: number;

  constructor(
    private readonly config: OidcConfig,
    private readonly options: OidcVerifierOptions,
  ) {
    this.retryMs = options.retryMs ?? 30_000;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 5_000;
  }

  async warmUp(): Promise<void> {
    const remote = await this.jwks();
    await remote.reload();
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const remote = this.remote ?? (await this.jwks());
    const cached = remote.jwks();
    if (cached && Date.now() - this.failedAt < this.retryMs) return createLocalJWKSet(cached)(header, token);
    try {
      return await remote(header, token);
    } catch (error) {
      if (isKeyLookupError(error)) throw error;
      this.failedAt = Date.now();
      const last = remote.jwks();
      if (!last) throw issuerUnavailable(error);
      return createLocalJWKSet(last)(header, token);
    }
  };

  /** The remote key set, after discovery when the config names no jwksUri. */
  private jwks(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.remote) return Promise.resolve(this.remote);
    this.discovering ??= this.discover().then(
      (uri) => {
        this.remote = createRemoteJWKSet(new URL(uri), {
          cooldownDuration: this.options.cooldownMs ?? 30_000,
          cacheMaxAge: this.options.cacheMaxAgeMs ?? 600_000,
          timeoutDuration: this.fetchTimeoutMs,
        });
        return this.remote;
      },
      (error: unknown) => {
        this.discovering = undefined;
        throw issuerUnavailable(error);
      },
    );
    return this.discovering;
  }

  private async discover(): Promise<string> {
    if (this.config.jwksUri) return this.config.jwksUri;
    const url = `${this.config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const response = await fetch(url, {
      signal: AbortSignal.timeout(this.fetchTimeoutMs),
      redirect: "manual",
      headers: { accept: "application/json" },
    });
    if (response.status !== 200) throw new Error(`discovery answered ${response.status}`);
    const text = await response.text();
    if (text.length > 256 * 1024) throw new Error("discovery document is too large");
    const document = JSON.parse(text) as { issuer?: unknown; jwks_uri?: unknown };
    if (document.issuer !== this.config.issuer) throw new Error("discovery names another issuer");
    if (typeof document.jwks_uri !== "string") throw new Error("discovery names no jwks_uri");
    const jwksUri = new URL(document.jwks_uri);
    const issuer = new URL(this.config.issuer);
    // Plain http only where the issuer itself was allowed plain http (a loopback test issuer).
    if (jwksUri.protocol !== "https:" && !(jwksUri.protocol === "http:" && issuer.protocol === "http:")) {
      throw new Error("discovery's jwks_uri is not https");
    }
    return jwksUri.href;
  }
}

/** Errors of the key lookup itself (not of fetching): the token names a key we cannot use. */
function isKeyLookupError(error: unknown): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWKInvalid
  );
}
