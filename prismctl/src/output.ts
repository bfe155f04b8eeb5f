import { type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";
import { stringify } from "yaml";

/** `-o table|json|yaml`; table is the human default. */
export const FORMATS = ["table", "json", "yaml"] as const;
export type Format = (typeof FORMATS)[number];

/**
 * How every command prints what it got, in the format `-o` chose — the one place that knows the
 * formats:
 *
 * - table: tab-separated columns, one row per line, no header (`column -t` aligns, `cut -f` picks);
 * - json: a whole answer is one JSON document; the items of a stream or a paged read (kv get,
 *   kv scan, ts read, ts tail, graph neighbors, graph traverse, audit) are JSON lines, one per item;
 * - yaml: one YAML document, or one document per item, each starting with `---`.
 *
 * Protobuf messages print in the proto3 JSON mapping ({@link protoJson}) in json and yaml.
 */
export interface Printer {
  readonly format: Format;
  /**
   * The whole answer of a command.
   *
   * @example print.document(protoJson(NamespaceSchema, ns), () => [`name\t${ns.name}`])
   */
  document(data: unknown, table: () => string | readonly string[]): void;
  /**
   * One item of a stream or a paged read.
   *
   * @example for (const e of page.events) print.item(protoJson(EventSchema, e), () => line(e))
   */
  item(data: unknown, table: () => string): void;
  /**
   * A message for people (`ok`, `job … started`): stdout in table form; stderr with json and
   * yaml, so that stdout stays one parseable document.
   *
   * @example print.note(`follow it with: prismctl backfill status ${id} --watch`)
   */
  note(text: string): void;
}

/**
 * A printer writing lines through `out` (stdout) and `err` (stderr).
 *
 * @example const print = printer("json", (l) => process.stdout.write(`${l}\n`), (l) => process.stderr.write(`${l}\n`))
 */
export function printer(format: Format, out: (line: string) => void, err: (line: string) => void): Printer {
  const lines = (table: string | readonly string[]) => {
    for (const line of typeof table === "string" ? [table] : table) out(line);
  };
  return {
    format,
    document(data, table) {
      if (format === "json") out(JSON.stringify(data, null, 2));
      else if (format === "yaml") out(yamlText(data));
      else lines(table());
    },
    item(data, table) {
      if (format === "json") out(JSON.stringify(data));
      else if (format === "yaml") out(`---\n${yamlText(data)}`);
      else out(table());
    },
    note(text) {
      (format === "table" ? out : err)(text);
    },
  };
}

/**
 * A message in the proto3 JSON mapping, every field present (scripts need not guess defaults).
 *
 * @example protoJson(BackfillJobSchema, job) // { id: "…", state: "BACKFILL_STATE_RUNNING", … }
 */
export function protoJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): unknown {
  return toJson(schema, message, { alwaysEmitImplicit: true });
}

function yamlText(data: unknown): string {
  // stringify ends with a newline; the printer adds its own.
  return stringify(data, { lineWidth: 0 }).replace(/\n$/, "");
}
