import { OptionReader } from "@prism/core";

/** The options of a `postgres` backend instance, validated and with defaults filled in. */
export interface PostgresOptions {
  /**
   * Connection URL, or where to read it: `env:NAME` or `file:/path` (resolved at open, so the
   * password never sits in the config file). Never logged.
   */
  readonly url: string;
  /** Most connections the pool opens. */
  readonly poolSize: number;
  /** The PostgreSQL schema that holds Prism's tables; created at open. */
  readonly schema: string;
  /** How often expired items and forgotten idempotency keys are deleted. */
  readonly sweepIntervalMs: number;
  /** Longest wait for a connection (new or from the pool) before a call fails as Unavailable. */
  readonly connectTimeoutMs: number;
  /** Server-side cap on any one statement, for calls without a deadline. */
  readonly statementTimeoutMs: number;
}

/** Option names, for `only` (a typo is a problem, not a silently ignored setting). */
const KNOWN = ["url", "poolSize", "schema", "sweepIntervalMs", "connectTimeoutMs", "statementTimeoutMs"];

/** An unquoted-safe identifier: we quote it anyway, but refuse anything a reader would squint at. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const URL_PROBLEM = "url: must be a postgres:// or postgresql:// URL, env:NAME or file:/path";

/**
 * Reads and checks every option, collecting every problem (never stopping at the first). Problem
 * strings never quote the url, which may hold a password.
 *
 * @example const { options, problems } = readPostgresOptions({ url: "env:PRISM_PG_URL" })
 */
export function readPostgresOptions(raw: Record<string, unknown>): {
  options: PostgresOptions;
  problems: string[];
} {
  const reader = new OptionReader(raw).only(...KNOWN);
  const url = reader.string("url");
  if (url !== "" && !url.startsWith("env:") && !url.startsWith("file:") && !isPostgresUrl(url)) {
    reader.problems.push(URL_PROBLEM);
  }
  const schema = reader.string("schema", "prism");
  if (!SCHEMA_NAME.test(schema)) {
    reader.problems.push("schema: must be a lower-case identifier (letters, digits, _; at most 63)");
  }
  const options: PostgresOptions = Object.freeze({
    url,
    poolSize: reader.integer("poolSize", 10, 1, 1000),
    schema,
    sweepIntervalMs: reader.integer("sweepIntervalMs", 30_000, 100, 3_600_000),
    connectTimeoutMs: reader.integer("connectTimeoutMs", 3_000, 100, 600_000),
    statementTimeoutMs: reader.integer("statementTimeoutMs", 30_000, 100, 3_600_000),
  });
  return { options, problems: reader.problems };
}

/** True for a parseable `postgres://` or `postgresql://` URL. */
export function isPostgresUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === "postgres:" || protocol === "postgresql:";
  } catch {
    // The URL's own error quotes its input, password included: drop it.
    return false;
  }
}
