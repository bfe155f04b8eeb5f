import { type Command, InvalidArgumentError } from "commander";
import { resolveAuth } from "./auth.js";
import { type CliContext, type Runtime, tlsCredentials } from "./cli.js";
import { contextsPath, readContexts } from "./contexts.js";
import { UsageError } from "./errors.js";
import { type Format, printer } from "./output.js";
import { count } from "./progress-bar.js";
import { type GlobalOptions, resolveSettings, type Settings, type Sourced } from "./settings.js";

/**
 * A command's positional arguments, name → description, in order: `ID`, `ID...` (a list, last
 * only) or `[ID]` (optional).
 */
export type ArgSpec = Readonly<Record<string, string>>;

/** How NAMESPACE is found; printed by `prismctl --help` and every namespaced command's help. */
export const NAMESPACE_RULE = `NAMESPACE is the first argument, or -n/--namespace NS (then it is not an argument).
Given neither, a command that gets one argument fewer takes PRISM_NAMESPACE or the current
context's namespace (with a list, ID..., use -n for that).`;

/** One run of a command: its namespace (namespaced commands), the other arguments, its options. */
export interface Call<O> {
  namespace: string;
  args: string[];
  opts: O;
  command: Command;
}

type Run<O> = (ctx: CliContext, call: Call<O>) => Promise<void>;

interface Positional {
  name: string;
  optional: boolean;
  variadic: boolean;
}

/**
 * Declares commands' arguments and actions for one run of prismctl: `namespaced` and `gateway`
 * commands call a gateway (settings, TLS, token resolved first); `local` ones do not.
 *
 * @example kit.namespaced(kv.command("get"), { ID: "the record id" }, async (ctx, { namespace, args }) => …)
 */
export function commandKit(runtime: Runtime) {
  const act =
    <O>(cmd: Command, spec: ArgSpec, namespaced: boolean, gateway: boolean, run: Run<O>) =>
    async () => {
      try {
        const globals = cmd.optsWithGlobals() as GlobalOptions;
        const settings = gateway ? settingsOf(runtime, globals) : undefined;
        const { namespace, rest } = positionals(cmd, spec, namespaced, globals, settings);
        if (settings) {
          runtime.scene = { address: settings.address.value };
          if (namespaced && namespace.from !== "argument" && namespace.from !== "--namespace") {
            runtime.scene.namespace = { name: namespace.value, from: namespace.from };
          }
        }
        const ctx = await contextOf(runtime, globals, settings);
        await run(ctx, { namespace: namespace.value, args: rest, opts: cmd.opts() as O, command: cmd });
      } catch (error) {
        if (error instanceof UsageError && error.usage === undefined) {
          error.command = commandPath(cmd);
          error.usage = usageOf(cmd);
        }
        throw error;
      }
    };
  const declare = <O>(cmd: Command, spec: ArgSpec, namespaced: boolean, gateway: boolean, run: Run<O>) => {
    if (namespaced) cmd.argument("[NAMESPACE]", "the namespace (see NAMESPACE below)");
    for (const [name, description] of Object.entries(spec)) {
      const { name: bare, variadic } = parsePositional(name);
      cmd.argument(`[${bare}${variadic ? "..." : ""}]`, description);
    }
    const words = [...(namespaced ? ["[NAMESPACE]"] : []), ...Object.keys(spec)];
    cmd.usage(`${words.join(" ")}${words.length > 0 ? " " : ""}[options]`);
    if (namespaced) cmd.addHelpText("after", `\n${NAMESPACE_RULE}`);
    return cmd.action(act(cmd, spec, namespaced, gateway, run));
  };
  return {
    /** A command on a namespace: `[NAMESPACE] ARGS…`. */
    namespaced: <O>(cmd: Command, spec: ArgSpec, run: Run<O>) => declare(cmd, spec, true, true, run),
    /** A command that calls the gateway, not on one namespace. */
    gateway: <O>(cmd: Command, spec: ArgSpec, run: Run<O>) => declare(cmd, spec, false, true, run),
    /** A command that calls no gateway (contexts, completion, login). */
    local: <O>(cmd: Command, spec: ArgSpec, run: Run<O>) => declare(cmd, spec, false, false, run),
  };
}

export type CommandKit = ReturnType<typeof commandKit>;

/** `prismctl kv get [NAMESPACE] ID [options]`. */
export function usageOf(cmd: Command): string {
  return `${commandPath(cmd)} ${cmd.usage()}`;
}

/** The words of a command from the root: `prismctl shadow promote`. */
export function commandPath(cmd: Command): string {
  const words: string[] = [];
  for (let at: Command | null = cmd; at; at = at.parent) words.unshift(at.name());
  return words.join(" ");
}

/**
 * The namespace and the other arguments, by {@link NAMESPACE_RULE}; missing or extra arguments
 * are usage errors.
 *
 * @example splitNamespace(["user-1"], [{ name: "ID", … }], undefined, { value: "demo", from: "context \"dev\"" })
 */
export function splitNamespace(
  args: readonly string[],
  names: readonly Positional[],
  explicit: string | undefined,
  fallback: Sourced<string> | undefined,
): { namespace: Sourced<string>; rest: string[] } {
  const required = names.filter((p) => !p.optional).length;
  if (explicit !== undefined) return { namespace: { value: explicit, from: "--namespace" }, rest: [...args] };
  if (args.length > required || (args.length > 0 && !fallback)) {
    return { namespace: { value: args[0]!, from: "argument" }, rest: args.slice(1) };
  }
  if (fallback) return { namespace: fallback, rest: [...args] };
  const missing = ["NAMESPACE", ...names.filter((p) => !p.optional).map((p) => p.name)];
  throw new UsageError(
    `missing ${missing.join(" ")} (a namespace may also come from -n NS, PRISM_NAMESPACE or \`prismctl context set\`)`,
  );
}

/** Argument count checks against the spec: missing ones by name, or too many. */
export function checkCount(args: readonly string[], names: readonly Positional[]): void {
  const missing = names.slice(args.length).filter((p) => !p.optional);
  if (missing.length > 0) throw new UsageError(`missing ${missing.map((p) => p.name).join(" ")}`);
  if (!names.at(-1)?.variadic && args.length > names.length) {
    throw new UsageError(`too many arguments: ${args.slice(names.length).join(" ")}`);
  }
}

export function parsePositional(name: string): Positional {
  const optional = name.startsWith("[");
  const bare = name.replace(/^\[|\]$/g, "");
  const variadic = bare.endsWith("...");
  return { name: bare.replace(/\.\.\.$/, ""), optional, variadic };
}

/** A repeatable option's values: `--label a --label b` → `["a", "b"]`. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * A parser of whole numbers from `min` to `max` for `--NAME N`.
 *
 * @example cmd.option("--rate <n>", "records per second", wholeNumber("--rate", 1, 2 ** 32 - 1))
 */
export function wholeNumber(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      throw new InvalidArgumentError(
        `${name}: a whole number from ${count(min)} to ${count(max)} (not ${JSON.stringify(text)})`,
      );
    }
    return value;
  };
}

/** The output format, from `-o`, else `--json`, else table. */
export function formatOf(globals: GlobalOptions): Format {
  return globals.output ?? (globals.json ? "json" : "table");
}

function settingsOf(runtime: Runtime, globals: GlobalOptions): Settings {
  return resolveSettings(globals, runtime.env, readContexts(contextsPath(runtime.env)));
}

function positionals(
  cmd: Command,
  spec: ArgSpec,
  namespaced: boolean,
  globals: GlobalOptions,
  settings: Settings | undefined,
): { namespace: Sourced<string>; rest: string[] } {
  const names = Object.keys(spec).map(parsePositional);
  const split = namespaced
    ? splitNamespace(cmd.args, names, globals.namespace, settings?.namespace)
    : { namespace: { value: "", from: "none" }, rest: [...cmd.args] };
  if (namespaced && split.namespace.value === "") throw new UsageError("the namespace is empty");
  checkCount(split.rest, names);
  return split;
}

async function contextOf(
  runtime: Runtime,
  globals: GlobalOptions,
  settings: Settings | undefined,
): Promise<CliContext> {
  const line = (write: (text: string) => void) => (text: string) => write(`${text}\n`);
  const out = line((text) => runtime.stdout(text));
  const err = line((text) => runtime.stderr(text));
  const ctx: CliContext = {
    address: settings?.address.value ?? "",
    out,
    err,
    print: printer(formatOf(globals), out, err),
    progress: runtime.progress,
    env: runtime.env,
  };
  if (!settings) return ctx;
  const { tls } = settings;
  const channel = tlsCredentials({
    ca: tls.ca?.value,
    cert: tls.cert?.value,
    key: tls.key?.value,
    tls: tls.tls?.value,
  });
  if (channel) ctx.credentials = channel;
  ctx.auth = await resolveAuth(runtime.env, globals.token);
  return ctx;
}
