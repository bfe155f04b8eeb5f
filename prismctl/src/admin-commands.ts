import { readFileSync, statSync } from "node:fs";
import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import {
  AdminService,
  ApplyNamespaceResponseSchema,
  ListBackendsResponseSchema,
  ListNamespacesResponseSchema,
  ListSchemasResponseSchema,
  type Namespace,
  NamespaceSchema,
  NamespaceSource,
  RegisterSchemaResponseSchema,
} from "@prism/proto/prism/admin/v1/admin";
import { Pattern } from "@prism/proto/prism/options/v1/options";
import type { Command } from "commander";
import { UsageError, withClient } from "./cli.js";
import type { Call, CommandKit } from "./command-kit.js";
import { protoJson } from "./output.js";
import { duration } from "./progress-bar.js";

/** The gateway's own bound on a registered set (RegisterSchema refuses more). */
const MAX_SCHEMA_FILE_BYTES = 4 << 20;

/** `namespace list|get|apply|delete`, `schema register|list`, `backend list`. */
export function addAdminCommands(root: Command, kit: CommandKit): void {
  const namespace = root.command("namespace").description("Namespaces: list, show, apply from YAML, delete");

  kit.gateway(
    namespace
      .command("list")
      .alias("ls")
      .description("Every namespace: NAME<TAB>BACKEND<TAB>vVERSION<TAB>PATTERN."),
    {},
    async (ctx) => {
      const answer = await withClient(ctx, AdminService, (admin) => admin.listNamespaces({}));
      ctx.print.document(protoJson(ListNamespacesResponseSchema, answer), () =>
        answer.namespaces.map(
          (ns) => `${ns.name}\t${ns.backend}\tv${ns.version}\t${patternName(ns.pattern)}`,
        ),
      );
    },
  );

  kit.namespaced(
    namespace.command("get").description("One namespace's spec and state, a field a line."),
    {},
    async (ctx, { namespace: name }) => {
      const { namespace: ns } = await withClient(ctx, AdminService, (admin) => admin.getNamespace({ name }));
      ctx.print.document(protoJson(NamespaceSchema, ns!), () => namespaceLines(ns!));
    },
  );

  kit.gateway(
    namespace
      .command("apply")
      .description("Create or replace a namespace from its YAML spec (DESIGN §4).")
      .option("-f, --file <file>", "the namespace's YAML")
      .option("--dry-run", "validate only"),
    {},
    async (ctx, { opts }: Call<{ file?: string; dryRun?: boolean }>) => {
      if (!opts.file) throw new UsageError("-f FILE.yaml is required");
      const yaml = readFileSync(opts.file, "utf8");
      const result = await withClient(ctx, AdminService, (admin) =>
        admin.applyNamespace({ spec: { case: "yaml", value: yaml }, dryRun: opts.dryRun === true }),
      );
      const verb = opts.dryRun ? "valid" : result.created ? "created" : "updated";
      ctx.print.document(
        protoJson(ApplyNamespaceResponseSchema, result),
        () => `${result.namespace!.name} ${verb} (v${result.namespace!.version})`,
      );
    },
  );

  kit.gateway(
    namespace.command("delete").description("Delete an applied namespace (its data stays in its backend)."),
    { NAME: "the namespace (never taken from a context: say which)" },
    async (ctx, { args: [name] }) => {
      await withClient(ctx, AdminService, (admin) => admin.deleteNamespace({ name: name! }));
      ctx.print.document({ deleted: name }, () => "ok");
    },
  );

  const schema = root
    .command("schema")
    .description("Registered protobuf schemas (namespace `schema:` values)");

  kit.gateway(
    schema
      .command("register")
      .description(
        "Register a FileDescriptorSet with its imports (buf build -o FILE.binpb): FILE<TAB>vVERSION.",
      ),
    { FILE: "the .binpb file" },
    async (ctx, { args: [file] }) => {
      const size = statSync(file!).size;
      if (size > MAX_SCHEMA_FILE_BYTES) {
        throw new UsageError(`${file}: ${size} bytes; a schema set is at most ${MAX_SCHEMA_FILE_BYTES}`);
      }
      const fileDescriptorSet = readFileSync(file!);
      const result = await withClient(ctx, AdminService, (admin) =>
        admin.registerSchema({ fileDescriptorSet }),
      );
      ctx.print.document(protoJson(RegisterSchemaResponseSchema, result), () => [
        ...result.files.map((registered) => `${registered.name}\tv${registered.version}`),
        `${result.messageNames.length} messages`,
      ]);
    },
  );

  kit.gateway(
    schema
      .command("list")
      .alias("ls")
      .description("Registered files: FILE<TAB>vVERSION (-o json adds when each was registered).")
      .option("--messages", "list the message names instead"),
    {},
    async (ctx, { opts }: Call<{ messages?: boolean }>) => {
      const answer = await withClient(ctx, AdminService, (admin) => admin.listSchemas({}));
      ctx.print.document(protoJson(ListSchemasResponseSchema, answer), () =>
        opts.messages ? answer.messageNames : answer.files.map((f) => `${f.name}\tv${f.version}`),
      );
    },
  );

  const backend = root.command("backend").description("Backends: the stores namespaces live in");

  kit.gateway(
    backend
      .command("list")
      .alias("ls")
      .description(
        "Every backend: NAME<TAB>TYPE<TAB>SERVING|NOT_SERVING reason<TAB>CAPABILITIES<TAB>circuit closed|open|half-open.",
      ),
    {},
    async (ctx) => {
      const answer = await withClient(ctx, AdminService, (admin) => admin.listBackends({}));
      ctx.print.document(protoJson(ListBackendsResponseSchema, answer), () =>
        answer.backends.map((b) => {
          const health = b.health === 1 ? "SERVING" : `NOT_SERVING ${b.healthMessage}`;
          const circuit = CIRCUITS[b.circuit] ?? "-";
          return `${b.name}\t${b.type}\t${health}\t${b.capabilities.join(",")}\t${circuit}`;
        }),
      );
    },
  );
}

/** CircuitState → the word `backend list` prints. */
const CIRCUITS: Record<number, string> = { 1: "closed", 2: "open", 3: "half-open" };

/** `keyvalue`, `timeseries`, `graph`. */
export function patternName(pattern: Pattern): string {
  return (Pattern[pattern] ?? "unspecified").toLowerCase();
}

function namespaceLines(ns: Namespace): string[] {
  const list = (values: readonly string[]) => (values.length > 0 ? values.join(",") : "-");
  const lines = [
    `name\t${ns.name}`,
    `pattern\t${patternName(ns.pattern)}`,
    `backend\t${ns.backend}`,
    `version\tv${ns.version}`,
    `source\t${ns.source === NamespaceSource.CONFIG ? "config file (read-only)" : "applied"}`,
  ];
  if (ns.updateTime) lines.push(`updated\t${timestampDate(ns.updateTime).toISOString()}`);
  if (ns.schema) lines.push(`schema\t${ns.schema}`);
  if (ns.shadow) lines.push(`shadow\t${ns.shadow.backend} (sample rate ${ns.shadow.sampleRate})`);
  if (ns.access) {
    lines.push(
      `read\t${list(ns.access.read)}`,
      `write\t${list(ns.access.write)}`,
      `pii\t${list(ns.access.pii)}`,
    );
  }
  if (ns.limits?.maxValueBytes) lines.push(`max value bytes\t${ns.limits.maxValueBytes}`);
  if (ns.limits?.rps) lines.push(`rps\t${ns.limits.rps}`);
  if (ns.retention) lines.push(`retention\t${duration(durationMs(ns.retention))}`);
  return lines;
}
