import type { ContextFile, PrismContext } from "./contexts.js";
import { selectContext } from "./contexts.js";
import { UsageError } from "./errors.js";
import type { Format } from "./output.js";

/** The options every command takes (before or after the command's words). */
export interface GlobalOptions {
  addr?: string;
  token?: string;
  /** `--tls` true, `--no-tls` false, neither undefined. */
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  namespace?: string;
  context?: string;
  output?: Format;
  json?: boolean;
}

type Setting = "addr" | "tlsCa" | "tlsCert" | "tlsKey" | "namespace";

/**
 * Where each setting comes from, first match wins: the flag, the environment variable, the
 * current context, the default. One table for the resolution, `context show` and `--help`.
 */
export const SETTING_SOURCES: Readonly<Record<Setting, { flag: string; env: string; fallback?: string }>> = {
  addr: { flag: "--addr", env: "PRISM_ADDR", fallback: "127.0.0.1:8980" },
  tlsCa: { flag: "--tls-ca", env: "PRISM_CA" },
  tlsCert: { flag: "--tls-cert", env: "PRISM_CERT" },
  tlsKey: { flag: "--tls-key", env: "PRISM_KEY" },
  namespace: { flag: "--namespace", env: "PRISM_NAMESPACE" },
};

/** A value and where it came from: `--addr`, `PRISM_ADDR`, `context "dev"`, `default`. */
export interface Sourced<T> {
  value: T;
  from: string;
}

/** Everything a gateway command needs to know about where it goes. */
export interface Settings {
  address: Sourced<string>;
  namespace?: Sourced<string>;
  tls: { tls?: Sourced<boolean>; ca?: Sourced<string>; cert?: Sourced<string>; key?: Sourced<string> };
  /** The context in use, if any. */
  context?: string;
}

/**
 * The settings of this run: flags win over environment variables, which win over the current
 * context (`--context`, PRISM_CONTEXT, else the file's `current`).
 *
 * @example resolveSettings({ addr: "h:1" }, process.env, readContexts(path)).address // { value: "h:1", from: "--addr" }
 */
export function resolveSettings(globals: GlobalOptions, env: NodeJS.ProcessEnv, file: ContextFile): Settings {
  const selected = selectContext(file, globals.context ?? (env.PRISM_CONTEXT || undefined));
  const context: PrismContext = selected?.context ?? {};
  const contextLabel = `context ${JSON.stringify(selected?.name)}`;
  const pick = (setting: Setting): Sourced<string> | undefined => {
    const { flag, env: variable, fallback } = SETTING_SOURCES[setting];
    const given = globals[setting];
    if (given !== undefined) return { value: given, from: flag };
    if (env[variable]) return { value: env[variable], from: variable };
    if (context[setting]) return { value: context[setting], from: contextLabel };
    return fallback === undefined ? undefined : { value: fallback, from: "default" };
  };
  const settings: Settings = { address: pick("addr")!, tls: {} };
  const namespace = pick("namespace");
  if (namespace) settings.namespace = namespace;
  if (selected) settings.context = selected.name;
  if (globals.tls === false) {
    // --no-tls: plaintext, whatever the environment or the context say.
    const files = (["tlsCa", "tlsCert", "tlsKey"] as const).filter((f) => globals[f] !== undefined);
    if (files.length > 0) {
      throw new UsageError(`--no-tls contradicts ${files.map((f) => SETTING_SOURCES[f].flag).join(", ")}`);
    }
    return settings;
  }
  if (globals.tls) settings.tls.tls = { value: true, from: "--tls" };
  else if (context.tls) settings.tls.tls = { value: true, from: contextLabel };
  const [ca, cert, key] = [pick("tlsCa"), pick("tlsCert"), pick("tlsKey")];
  if (ca) settings.tls.ca = ca;
  if (cert) settings.tls.cert = cert;
  if (key) settings.tls.key = key;
  return settings;
}
