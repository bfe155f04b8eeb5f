import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PrismError } from "@prism/core";
import { parse, stringify } from "yaml";

/**
 * prismctl's own files, under `$XDG_CONFIG_HOME/prism/` (or `~/.config/prism/`), directory mode
 * 0700 and files 0600 because they hold bearer tokens:
 *
 * - `prismctl.yaml` — the issuer and client id of the last `prismctl login` (`issuer:`, `clientId:`);
 * - `tokens/<hash of the issuer>.json` — that issuer's tokens ({@link CachedTokens}).
 *
 * Files are replaced by rename, so a reader never sees half a file and a crash never leaves one.
 */

/** Tokens of one issuer, as `prismctl login` stored them. */
export interface CachedTokens {
  issuer: string;
  clientId: string;
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  /** When the access token expires, seconds since the epoch. */
  expiresAt: number;
  scope?: string;
}

/** Which issuer and client prismctl logs in with (from `prismctl.yaml`). */
export interface LoginSettings {
  issuer?: string;
  clientId?: string;
}

/** Bounds on what is read back: a token file is a few KiB; anything larger is not ours. */
const MAX_FILE_BYTES = 64 * 1024;
const MAX_TOKEN_CHARS = 16 * 1024;
export const MAX_URL_CHARS = 2048;
export const MAX_CLIENT_ID_CHARS = 256;

/** The directory, from `env` (XDG_CONFIG_HOME, HOME). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "prism");
}

/** The token file of `issuer`: the name is a hash, so any issuer URL makes a safe file name. */
export function tokenFile(dir: string, issuer: string): string {
  const id = createHash("sha256").update(issuer).digest("hex").slice(0, 32);
  return join(dir, "tokens", `${id}.json`);
}

function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone; ours must not be readable by others.
  chmodSync(path, 0o700);
}

/** Writes `text` to `path` with mode 0600 through a temporary file in the same directory. */
export function writePrivate(path: string, text: string): void {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(temp, text, { mode: 0o600, flag: "wx" });
  renameSync(temp, path);
}

/** The text of `path`, undefined when it does not exist; a file over 64 KiB is not ours (an error). */
export function readBounded(path: string): string | undefined {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return undefined;
  }
  if (size > MAX_FILE_BYTES) {
    throw new PrismError("FailedPrecondition", `${path} is larger than ${MAX_FILE_BYTES} bytes`);
  }
  return readFileSync(path, "utf8");
}

const boundedString = (value: unknown, max: number): value is string =>
  typeof value === "string" && value.length > 0 && value.length <= max;

/** The login settings, or none when the file is missing. */
export function readSettings(dir: string): LoginSettings {
  const text = readBounded(join(dir, "prismctl.yaml"));
  if (text === undefined) return {};
  const doc = (parse(text) ?? {}) as Record<string, unknown>;
  const settings: LoginSettings = {};
  if (boundedString(doc.issuer, MAX_URL_CHARS)) settings.issuer = doc.issuer;
  if (boundedString(doc.clientId, MAX_CLIENT_ID_CHARS)) settings.clientId = doc.clientId;
  return settings;
}

export function writeSettings(dir: string, settings: LoginSettings): void {
  ensureDir(dir);
  writePrivate(join(dir, "prismctl.yaml"), stringify(settings));
}

/** The cached tokens of `issuer`, or undefined when there are none (or they are not well-formed). */
export function readTokens(dir: string, issuer: string): CachedTokens | undefined {
  const text = readBounded(tokenFile(dir, issuer));
  if (text === undefined) return undefined;
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (
    doc.issuer !== issuer ||
    !boundedString(doc.clientId, MAX_CLIENT_ID_CHARS) ||
    !boundedString(doc.accessToken, MAX_TOKEN_CHARS) ||
    typeof doc.expiresAt !== "number" ||
    !Number.isFinite(doc.expiresAt)
  ) {
    return undefined;
  }
  return {
    issuer,
    clientId: doc.clientId,
    accessToken: doc.accessToken,
    expiresAt: doc.expiresAt,
    ...(boundedString(doc.refreshToken, MAX_TOKEN_CHARS) && { refreshToken: doc.refreshToken }),
    ...(boundedString(doc.idToken, MAX_TOKEN_CHARS) && { idToken: doc.idToken }),
    ...(boundedString(doc.scope, 1024) && { scope: doc.scope }),
  };
}

/** Stores `tokens` for their issuer (mode 0600 in a 0700 directory). */
export function writeTokens(dir: string, tokens: CachedTokens): string {
  ensureDir(dir);
  ensureDir(join(dir, "tokens"));
  const path = tokenFile(dir, tokens.issuer);
  writePrivate(path, `${JSON.stringify(tokens, null, 2)}\n`);
  return path;
}

/** Removes the tokens of `issuer`; true when there were some. */
export function removeTokens(dir: string, issuer: string): boolean {
  const path = tokenFile(dir, issuer);
  try {
    statSync(path);
  } catch {
    return false;
  }
  rmSync(path, { force: true });
  return true;
}

/** A lock older than this was left by a prismctl that died mid-refresh. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 15_000;

/**
 * Runs `use` while holding the refresh lock of `issuer` (a file created exclusively beside its
 * tokens). Issuers rotate a public client's refresh token on every use and treat a reused one as
 * stolen, revoking the whole grant; so two prismctl processes must never refresh at once, and the
 * second one re-reads the tokens the first one stored.
 */
export async function withRefreshLock<T>(dir: string, issuer: string, use: () => Promise<T>): Promise<T> {
  ensureDir(dir);
  ensureDir(join(dir, "tokens"));
  const lock = `${tokenFile(dir, issuer)}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, "wx", 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (age > STALE_LOCK_MS) rmSync(lock, { force: true });
      else if (Date.now() > deadline) {
        throw new PrismError("Unavailable", `another prismctl is refreshing the token (lock ${lock})`);
      } else await sleep(100);
    }
  }
  try {
    return await use();
  } finally {
    rmSync(lock, { force: true });
  }
}
