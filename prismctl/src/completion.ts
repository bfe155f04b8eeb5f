import type { Command } from "commander";
import type { CommandKit } from "./command-kit.js";
import { FORMATS } from "./output.js";

/** The shells `prismctl completion` writes a script for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
type Shell = (typeof SHELLS)[number];

/** Options whose value is a file: the shells complete file names after them. */
const FILE_OPTIONS = new Set(["--file", "--tls-ca", "--tls-cert", "--tls-key"]);

/** One command of the tree, by its path of words (`/shadow/promote`; the root is ""). */
interface CompletionNode {
  path: string;
  commands: { name: string; description: string }[];
  options: { flags: string[]; description: string; takesValue: boolean }[];
  /** Values of its positional arguments that are a fixed set (`completion bash|zsh|fish`). */
  choices: string[];
}

/** `completion bash|zsh|fish`: a script generated from the command tree. */
export function addCompletionCommand(root: Command, kit: CommandKit): void {
  const completion = root
    .command("completion")
    .description(
      "Print a shell completion script (commands, subcommands, options).\n" +
        "  bash: source <(prismctl completion bash)    zsh: source <(prismctl completion zsh)\n" +
        "  fish: prismctl completion fish | source",
    );
  kit.local(completion, { SHELL: SHELLS.join(", ") }, async (ctx, { args: [shell] }) => {
    ctx.out(completionScript(root, shell as Shell));
  });
  completion.registeredArguments[0]!.choices(SHELLS);
}

/**
 * The completion script of `root` for `shell`.
 *
 * @example completionScript(program, "bash") // "_prismctl() { … }\ncomplete -F _prismctl prismctl"
 */
export function completionScript(root: Command, shell: Shell): string {
  const nodes = completionNodes(root);
  const name = root.name();
  if (shell === "bash") return bashScript(name, nodes);
  if (shell === "zsh") return zshScript(name, nodes);
  return fishScript(name, nodes);
}

/** Every command and alias of the tree, with what may follow it. */
export function completionNodes(root: Command): CompletionNode[] {
  const nodes: CompletionNode[] = [];
  const visit = (cmd: Command, path: string) => {
    const visible = cmd.commands.filter((sub) => !(sub as Command & { _hidden?: boolean })._hidden);
    nodes.push({
      path,
      commands: visible.flatMap((sub) =>
        [sub.name(), ...sub.aliases()].map((word) => ({
          name: word,
          description: firstLine(sub.description()),
        })),
      ),
      options: cmd.options
        .filter((option) => !option.hidden)
        .map((option) => ({
          flags: [option.short, option.long].filter((flag): flag is string => Boolean(flag)),
          description: firstLine(option.description),
          takesValue: option.required || option.optional,
        })),
      choices: cmd.registeredArguments.flatMap((argument) => argument.argChoices ?? []),
    });
    for (const sub of visible)
      for (const word of [sub.name(), ...sub.aliases()]) visit(sub, `${path}/${word}`);
  };
  visit(root, "");
  // commander keeps --help apart from the options; it is global like the root's.
  nodes[0]!.options.push({ flags: ["-h", "--help"], description: "show help", takesValue: false });
  return nodes;
}

function bashScript(name: string, nodes: CompletionNode[]): string {
  const fn = `_${name.replaceAll("-", "_")}`;
  const { paths, valueFlags, fileFlags, globals } = summary(nodes);
  const cases = nodes.map((node) => {
    const words = [
      ...node.commands.map((c) => c.name),
      ...node.choices,
      ...flagsOf(node),
      ...(node.path ? globals : []),
    ];
    return `    "${node.path}") words="${words.join(" ")}" ;;`;
  });
  return `# ${name} completion for bash. Load it in this shell with
#   source <(${name} completion bash)
# or save it as ~/.local/share/bash-completion/completions/${name}.
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local at="" word words i skip=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$word" in
      ${valueFlags.join("|")}) skip=1; continue ;;
      -*) continue ;;
    esac
    case "$at/$word" in
      ${paths.join("|")}) at="$at/$word" ;;
    esac
  done
  case "$prev" in
    -o|--output) COMPREPLY=($(compgen -W "${FORMATS.join(" ")}" -- "$cur")); return ;;
    ${fileFlags.join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${valueFlags.join("|")}) COMPREPLY=(); return ;;
  esac
  case "$at" in
${cases.join("\n")}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F ${fn} ${name}`;
}

function zshScript(name: string, nodes: CompletionNode[]): string {
  const fn = `_${name.replaceAll("-", "_")}`;
  const { paths, valueFlags, fileFlags } = summary(nodes);
  const root = nodes[0]!;
  const entry = (word: string, description: string) => quote(`${word.replaceAll(":", "\\:")}:${description}`);
  const cases = nodes.map((node) => {
    const options = node.path ? [...node.options, ...root.options] : node.options;
    const candidates = [
      ...node.commands.map((c) => entry(c.name, c.description)),
      ...node.choices.map((choice) => entry(choice, "")),
      ...options.flatMap((o) => o.flags.map((flag) => entry(flag, o.description))),
    ];
    return `    (${quote(node.path)}) candidates=(${candidates.join(" ")}) ;;`;
  });
  return `#compdef ${name}
# ${name} completion for zsh: source <(${name} completion zsh), or save it as _${name} in a
# directory of $fpath.
${fn}() {
  local at="" word i skip=0
  local -a candidates
  for ((i = 2; i < CURRENT; i++)); do
    word="\${words[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$word" in
      (${valueFlags.join("|")}) skip=1; continue ;;
      (-*) continue ;;
    esac
    case "$at/$word" in
      (${paths.join("|")}) at="$at/$word" ;;
    esac
  done
  case "\${words[CURRENT-1]}" in
    (-o|--output) compadd -- ${FORMATS.join(" ")}; return ;;
    (${fileFlags.join("|")}) _files; return ;;
    (${valueFlags.join("|")}) return ;;
  esac
  case "$at" in
${cases.join("\n")}
  esac
  _describe -t commands '${name}' candidates
}
if [[ "\${funcstack[1]}" = "${fn}" ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${name}
fi`;
}

function fishScript(name: string, nodes: CompletionNode[]): string {
  const fn = `__${name.replaceAll("-", "_")}_at`;
  const { paths, valueFlags } = summary(nodes);
  const lines = [
    `# ${name} completion for fish: ${name} completion fish | source, or save it as`,
    `# ~/.config/fish/completions/${name}.fish.`,
    `function ${fn}`,
    `    set -l tokens (commandline -opc)`,
    `    set -e tokens[1]`,
    `    set -l at ""`,
    `    set -l skip 0`,
    `    for word in $tokens`,
    `        if test $skip -eq 1`,
    `            set skip 0`,
    `            continue`,
    `        end`,
    `        switch $word`,
    `            case ${valueFlags.join(" ")}`,
    `                set skip 1`,
    `                continue`,
    `            case '-*'`,
    `                continue`,
    `        end`,
    `        if contains -- "$at/$word" ${paths.join(" ")}`,
    `            set at "$at/$word"`,
    `        end`,
    `    end`,
    `    test "$at" = "$argv[1]"`,
    `end`,
    `complete -c ${name} -f`,
  ];
  for (const node of nodes) {
    const when = `-n ${quote(`${fn} ${quote(node.path)}`)}`;
    for (const c of node.commands)
      lines.push(`complete -c ${name} ${when} -a ${quote(c.name)} -d ${quote(c.description)}`);
    if (node.choices.length > 0)
      lines.push(`complete -c ${name} ${when} -a ${quote(node.choices.join(" "))}`);
    for (const option of node.options) {
      // The root's options are global: offered after every command.
      const scope = node.path === "" ? "" : `${when} `;
      const flags = option.flags.map((flag) =>
        flag.startsWith("--") ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`,
      );
      const value = !option.takesValue
        ? ""
        : option.flags.includes("--output")
          ? ` -x -a ${quote(FORMATS.join(" "))}`
          : option.flags.some((flag) => FILE_OPTIONS.has(flag))
            ? " -r -F"
            : " -x";
      lines.push(`complete -c ${name} ${scope}${flags.join(" ")}${value} -d ${quote(option.description)}`);
    }
  }
  return lines.join("\n");
}

function summary(nodes: CompletionNode[]) {
  const options = nodes.flatMap((node) => node.options);
  const unique = (values: string[]) => [...new Set(values)].sort();
  return {
    paths: nodes.filter((node) => node.path !== "").map((node) => node.path),
    valueFlags: unique(options.filter((o) => o.takesValue).flatMap((o) => o.flags)),
    fileFlags: unique(
      options.flatMap((o) => o.flags).filter((flag) => FILE_OPTIONS.has(flag) || flag === "-f"),
    ),
    globals: flagsOf(nodes[0]!),
  };
}

function flagsOf(node: CompletionNode): string[] {
  return node.options.flatMap((option) => option.flags.filter((flag) => flag.startsWith("--")));
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? "").trim();
}

/** A single-quoted shell word (bash, zsh and fish read it the same way). */
function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
