import { resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "./cli.js";
import type { Call, CommandKit } from "./command-kit.js";
import {
  CONTEXT_FIELDS,
  type ContextFile,
  checkContextName,
  contextsPath,
  type PrismContext,
  readContexts,
  writeContexts,
} from "./contexts.js";
import { type GlobalOptions, resolveSettings } from "./settings.js";

const FILE_FIELDS = ["tlsCa", "tlsCert", "tlsKey"] as const;

/** `context set|use|list|show|delete`: named gateway settings in the context file (contexts.ts). */
export function addContextCommands(root: Command, kit: CommandKit): void {
  const context = root
    .command("context")
    .description(
      "Named settings: gateway address, TLS files, namespace.\n" +
        "Kept in $PRISMCTL_CONFIG or ~/.config/prism/contexts.yaml (mode 0600). The current context " +
        "supplies defaults: flags win, then environment variables, then the context.",
    );

  kit.local(
    context
      .command("set")
      .description(
        "Create or update a context from the flags given with it.\n" +
          "Those are --addr, -n/--namespace, --tls, --tls-ca, --tls-cert, --tls-key (file paths are " +
          "stored absolute; an empty value or --no-tls removes a setting). The first context becomes " +
          "the current one.",
      )
      .option("--use", "make it the current context"),
    { NAME: "the context's name" },
    async (ctx, { args: [name], opts, command }: Call<{ use?: boolean }>) => {
      const globals = command.optsWithGlobals() as GlobalOptions;
      const path = contextsPath(ctx.env);
      const file = readContexts(path);
      const entry: PrismContext = { ...file.contexts[checkContextName(name!)] };
      if (globals.addr !== undefined) setField(entry, "addr", globals.addr);
      if (globals.namespace !== undefined) setField(entry, "namespace", globals.namespace);
      for (const field of FILE_FIELDS) {
        const given = globals[field];
        if (given !== undefined) setField(entry, field, given === "" ? "" : resolve(given));
      }
      if (globals.tls === true) entry.tls = true;
      if (globals.tls === false) delete entry.tls;
      file.contexts[name!] = entry;
      if (opts.use || file.current === undefined) file.current = name!;
      writeContexts(path, file);
      ctx.print.document(
        { name, ...entry, current: file.current === name },
        () => `context ${name} saved${file.current === name ? " (current)" : ""} in ${path}`,
      );
    },
  );

  kit.local(
    context.command("use").description("Make a context the current one."),
    { NAME: "the context's name" },
    async (ctx, { args: [name] }) => {
      const path = contextsPath(ctx.env);
      const file = readContexts(path);
      if (!file.contexts[name!]) throw new UsageError(noSuchContext(name!, file));
      file.current = name!;
      writeContexts(path, file);
      ctx.print.document({ current: name }, () => `now using context ${name}`);
    },
  );

  kit.local(
    context
      .command("list")
      .alias("ls")
      .description("Every context: *<TAB>NAME<TAB>ADDR<TAB>NAMESPACE (* = current)."),
    {},
    async (ctx) => {
      const file = readContexts(contextsPath(ctx.env));
      ctx.print.document(file, () =>
        Object.entries(file.contexts).map(
          ([name, c]) =>
            `${name === file.current ? "*" : ""}\t${name}\t${c.addr ?? "-"}\t${c.namespace ?? "-"}`,
        ),
      );
    },
  );

  kit.local(
    context
      .command("show")
      .description(
        "Show the settings in effect, or a stored context.\n" +
          "Without NAME: what this command line resolves to, each setting with where it came from (flag, " +
          "environment variable, context, default). With NAME: that context as stored.",
      ),
    { "[NAME]": "a context's name" },
    async (ctx, { args: [name], command }) => {
      const file = readContexts(contextsPath(ctx.env));
      if (name !== undefined) {
        const stored = file.contexts[name];
        if (!stored) throw new UsageError(noSuchContext(name, file));
        ctx.print.document({ name, ...stored, current: file.current === name }, () =>
          CONTEXT_FIELDS.filter((field) => stored[field] !== undefined).map(
            (field) => `${field}\t${stored[field]}`,
          ),
        );
        return;
      }
      const settings = resolveSettings(command.optsWithGlobals() as GlobalOptions, ctx.env, file);
      const rows = {
        addr: settings.address,
        namespace: settings.namespace,
        tls: settings.tls.tls,
        tlsCa: settings.tls.ca,
        tlsCert: settings.tls.cert,
        tlsKey: settings.tls.key,
      };
      ctx.print.document({ context: settings.context ?? null, ...rows }, () => [
        `context\t${settings.context ?? "(none)"}`,
        ...Object.entries(rows).flatMap(([field, s]) => (s ? [`${field}\t${s.value}\t(${s.from})`] : [])),
      ]);
    },
  );

  kit.local(
    context
      .command("delete")
      .alias("rm")
      .description("Remove a context (the current one leaves none current)."),
    { NAME: "the context's name" },
    async (ctx, { args: [name] }) => {
      const path = contextsPath(ctx.env);
      const file = readContexts(path);
      if (!file.contexts[name!]) throw new UsageError(noSuchContext(name!, file));
      delete file.contexts[name!];
      if (file.current === name) delete file.current;
      writeContexts(path, file);
      ctx.print.document({ deleted: name }, () => `context ${name} deleted`);
    },
  );
}

function setField(
  entry: PrismContext,
  field: "addr" | "namespace" | (typeof FILE_FIELDS)[number],
  value: string,
) {
  if (value === "") delete entry[field];
  else entry[field] = value;
}

function noSuchContext(name: string, file: ContextFile): string {
  const known = Object.keys(file.contexts);
  return `no context ${JSON.stringify(name)}${known.length > 0 ? ` (there are: ${known.join(", ")})` : ""}`;
}
