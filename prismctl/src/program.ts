import { Command, CommanderError, Option } from "commander";
import { addAdminCommands } from "./admin-commands.js";
import { addBackfillCommands } from "./backfill-commands.js";
import type { Runtime } from "./cli.js";
import { commandKit, commandPath, NAMESPACE_RULE } from "./command-kit.js";
import { addCompletionCommand } from "./completion.js";
import { addContextCommands } from "./context-commands.js";
import { describeFailure, EXIT, EXIT_CODES, UsageError } from "./errors.js";
import { addGraphCommands } from "./graph-commands.js";
import { addKvCommands } from "./kv-commands.js";
import { addKvTransferCommands } from "./kv-transfer.js";
import { addLoginCommands } from "./login-commands.js";
import { FORMATS } from "./output.js";
import { addPiiCommands } from "./pii-commands.js";
import { SETTING_SOURCES } from "./settings.js";
import { addShadowCommands } from "./shadow-commands.js";
import { addTrafficCommands } from "./traffic-commands.js";
import { addTsCommands } from "./ts-commands.js";

const OUTPUT_HELP = `Output (-o): table (the default): tab-separated columns, a row a line, no header;
  json: the answer as one document (protobuf messages in their JSON mapping), or, for streams
  and paged reads (kv get, kv scan, ts read, ts tail, graph neighbors, graph traverse, audit),
  one JSON object a line; yaml: one document, or one per item after ---. With json and yaml,
  messages for people go to stderr. kv export always writes JSON lines (the kv import format).`;

/**
 * Runs one prismctl command line; resolves with its exit code (see {@link EXIT_CODES}).
 *
 * @example process.exit(await runPrismctl(process.argv.slice(2), runtime))
 */
export async function runPrismctl(argv: readonly string[], runtime: Runtime): Promise<number> {
  const program = buildProgram(runtime);
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander printed the help or its "error: …" line already.
      return error.code === "commander.helpDisplayed" || error.code === "commander.version"
        ? EXIT.OK
        : EXIT.USAGE;
    }
    if (error instanceof UsageError) {
      runtime.stderr(`error: ${error.message}\n`);
      if (error.usage) runtime.stderr(`usage: ${error.usage}\nhint: ${error.command} --help\n`);
      return EXIT.USAGE;
    }
    const { lines, code } = describeFailure(error, runtime.scene ?? { address: "the gateway" });
    runtime.stderr(`${lines.join("\n")}\n`);
    return code;
  }
}

/** The command tree: global options, then each area's commands. */
export function buildProgram(runtime: Runtime): Command {
  const program = new Command("prismctl")
    .description(
      "The operator CLI of Prism: KeyValue, TimeSeries and Graph data; namespaces, backends and\n" +
        "schemas; shadow traffic and backfills; data keys and the audit log; traffic counters.",
    )
    .usage("[global options] COMMAND [arguments] [options]")
    .exitOverride()
    .configureOutput({ writeOut: (text) => runtime.stdout(text), writeErr: (text) => runtime.stderr(text) })
    .configureHelp({ showGlobalOptions: true, subcommandTerm })
    .showHelpAfterError("hint: add --help for the command's arguments and options");
  program
    .option("--addr <host:port>", "the gateway (PRISM_ADDR; default 127.0.0.1:8980)")
    .option("--token <token>", "bearer token (PRISM_TOKEN; default: the one of `prismctl login`)")
    .option("--tls", "TLS with the system's root certificates")
    .option("--no-tls", "plaintext, whatever PRISM_CA or the context say")
    .option("--tls-ca <file>", "CA certificate(s) to trust, PEM (PRISM_CA)")
    .option("--tls-cert <file>", "client certificate, PEM, for mTLS gateways (PRISM_CERT)")
    .option("--tls-key <file>", "the client certificate's private key, PEM (PRISM_KEY)")
    .option("-n, --namespace <ns>", "the namespace (PRISM_NAMESPACE; default: the context's)")
    .option("--context <name>", "use this context for this command (PRISM_CONTEXT)")
    .addOption(new Option("-o, --output <format>", "output format (default: table)").choices(FORMATS))
    .option("--json", "same as -o json");

  const kit = commandKit(runtime);
  addKvTransferCommands(addKvCommands(program, kit), kit);
  addTsCommands(program, kit);
  addGraphCommands(program, kit);
  addAdminCommands(program, kit);
  addTrafficCommands(program, kit);
  addShadowCommands(program, kit);
  addBackfillCommands(program, kit);
  addPiiCommands(program, kit);
  addLoginCommands(program, kit);
  addContextCommands(program, kit);
  addCompletionCommand(program, kit);
  summarize(program);
  program.addHelpText("after", () => rootHelp(program));
  return program;
}

/**
 * Descriptions are written with a short first line: it becomes the summary in command lists, and
 * the description's other line breaks become spaces (commander wraps to the terminal), except
 * before indented lines, which stay as written.
 */
function summarize(cmd: Command): void {
  const description = cmd.description();
  if (description.includes("\n")) {
    cmd.summary(description.split("\n")[0]!);
    cmd.description(description.replace(/\n(?=\S)/g, " "));
  }
  for (const sub of cmd.commands) summarize(sub);
}

/** A command in its parent's list: `delete|del [NAMESPACE] ID`, options left to its own help. */
function subcommandTerm(cmd: Command): string {
  const names = [cmd.name(), ...cmd.aliases()].join("|");
  const words = cmd.commands.length > 0 ? "" : cmd.usage().replace(/ ?\[options\]/, "");
  return words ? `${names} ${words}` : names;
}

/** Every command (`prismctl --help` lists them all), the NAMESPACE rule, output, settings, exit codes. */
function rootHelp(program: Command): string {
  const leaves: string[] = [];
  const visit = (cmd: Command) => {
    const runnable = (cmd as Command & { _actionHandler?: unknown })._actionHandler;
    if (runnable && cmd !== program) leaves.push(`  ${commandPath(cmd)} ${cmd.usage()}`);
    for (const sub of cmd.commands) visit(sub);
  };
  visit(program);
  const settings = Object.values(SETTING_SOURCES).map(
    ({ flag, env, fallback }) =>
      `  ${flag.padEnd(12)} ${env.padEnd(16)}${fallback ? ` default ${fallback}` : ""}`,
  );
  const exits = EXIT_CODES.map(({ code, meaning }) => `  ${code}  ${meaning}`);
  return [
    "",
    "Every command (each takes --help):",
    ...leaves,
    "",
    NAMESPACE_RULE,
    "",
    OUTPUT_HELP,
    "",
    "Settings: a flag wins over its environment variable, which wins over the current context",
    "(`prismctl context`; --context or PRISM_CONTEXT picks another; PRISMCTL_CONFIG names the file):",
    ...settings,
    "  --token      PRISM_TOKEN      default: the token of `prismctl login` (PRISM_ISSUER)",
    "",
    "Exit codes:",
    ...exits,
  ].join("\n");
}
