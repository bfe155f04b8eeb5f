import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { UsageError } from "./errors.js";
import { configDir, readBounded, writePrivate } from "./token-cache.js";

/**
 * Named gateway settings (`prismctl context set|use|list|show|delete`), kept in
 * `$PRISMCTL_CONFIG`, else `~/.config/prism/contexts.yaml` (`$XDG_CONFIG_HOME/prism/` when set),
 * written with mode 0600:
 *
 * ```yaml
 * current: dev
 * contexts:
 *   dev: { addr: "127.0.0.1:8980", namespace: demo-kv }
 *   prod: { addr: "prism.example.com:443", tlsCa: /etc/prism/ca.pem }
 * ```
 */
export interface ContextFile {
  current?: string;
  contexts: Record<string, PrismContext>;
}

/** What a context supplies: defaults for `--addr`, the TLS flags and `--namespace`. */
export interface PrismContext {
  addr?: string;
  namespace?: string;
  /** TLS with the system's roots (`--tls`). */
  tls?: boolean;
  /** Absolute paths (`context set` resolves relative ones). */
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The fields of a context, in the order `context show` prints them. */
export const CONTEXT_FIELDS = ["addr", "namespace", "tls", "tlsCa", "tlsCert", "tlsKey"] as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The context file's path.
 *
 * @example contextsPath({ PRISMCTL_CONFIG: "/tmp/c.yaml" }) // "/tmp/c.yaml"
 */
export function contextsPath(env: NodeJS.ProcessEnv): string {
  return env.PRISMCTL_CONFIG || join(configDir(env), "contexts.yaml");
}

/** A context name: letters, digits, `.`, `_`, `-`, at most 64. */
export function checkContextName(name: string): string {
  if (!NAME.test(name)) {
    throw new UsageError(
      `context name ${JSON.stringify(name)}: letters, digits, ".", "_" or "-", at most 64`,
    );
  }
  return name;
}

/**
 * The contexts in `path`; none when the file does not exist. A file that is not ours is a usage
 * error naming it (exit 2), not a crash.
 */
export function readContexts(path: string): ContextFile {
  const text = readBounded(path);
  if (text === undefined || text.trim() === "") return { contexts: {} };
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new UsageError(`${path}: not YAML (${(error as Error).message.split("\n")[0]})`);
  }
  const { current, contexts } = (doc ?? {}) as { current?: unknown; contexts?: unknown };
  if (typeof contexts !== "object" || contexts === null || Array.isArray(contexts)) {
    throw new UsageError(`${path}: expected "contexts:" with one entry per context name`);
  }
  const file: ContextFile = { contexts: {} };
  for (const [name, value] of Object.entries(contexts)) file.contexts[name] = contextOf(path, name, value);
  if (typeof current === "string" && current !== "") file.current = current;
  return file;
}

/** Writes the contexts to `path` (0600, replaced by rename: never half a file). */
export function writeContexts(path: string, file: ContextFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writePrivate(path, stringify(file));
}

/**
 * The context in use: `--context`, else PRISM_CONTEXT, else the file's `current`. Undefined when
 * none is chosen; a chosen name the file lacks is a usage error.
 */
export function selectContext(
  file: ContextFile,
  chosen: string | undefined,
): { name: string; context: PrismContext } | undefined {
  const name = chosen ?? file.current;
  if (name === undefined) return undefined;
  const context = file.contexts[name];
  if (!context) {
    const known = Object.keys(file.contexts);
    throw new UsageError(
      `no context ${JSON.stringify(name)}${known.length > 0 ? ` (there are: ${known.join(", ")})` : " (there are none: prismctl context set NAME --addr HOST:PORT)"}`,
    );
  }
  return { name, context };
}

function contextOf(path: string, name: string, value: unknown): PrismContext {
  if (typeof value !== "object" || value === null)
    throw new UsageError(`${path}: context ${name} is not a map`);
  const context: PrismContext = {};
  for (const [field, v] of Object.entries(value)) {
    if (field === "tls") {
      if (typeof v !== "boolean") throw new UsageError(`${path}: ${name}.tls must be true or false`);
      context.tls = v;
    } else if ((CONTEXT_FIELDS as readonly string[]).includes(field)) {
      if (typeof v !== "string") throw new UsageError(`${path}: ${name}.${field} must be a string`);
      context[field as Exclude<(typeof CONTEXT_FIELDS)[number], "tls">] = v;
    } else {
      throw new UsageError(`${path}: ${name}.${field} is not a context field (${CONTEXT_FIELDS.join(", ")})`);
    }
  }
  return context;
}
