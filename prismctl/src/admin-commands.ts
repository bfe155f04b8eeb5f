import { readFileSync, statSync } from "node:fs";
import { toJson } from "@bufbuild/protobuf";
import { AdminService, NamespaceSchema } from "@prism/proto/prism/admin/v1/admin";
import { type Commands, flag, need, UsageError, withClient } from "./cli.js";

/** The gateway's own bound on a registered set (RegisterSchema refuses more). */
const MAX_SCHEMA_FILE_BYTES = 4 << 20;

/** `namespace list|get|apply|delete`, `schema register|list`, `backend list`. */
export const ADMIN_COMMANDS: Commands = {
  "namespace list": {
    usage: "namespace list",
    async run(ctx) {
      await withClient(ctx, AdminService, async (admin) => {
        for (const ns of (await admin.listNamespaces({})).namespaces) {
          ctx.out(`${ns.name}\t${ns.backend}\tv${ns.version}`);
        }
      });
    },
  },
  "namespace get": {
    usage: "namespace get NAME",
    async run(ctx, args) {
      const [name] = need(args, 1, this.usage);
      await withClient(ctx, AdminService, async (admin) => {
        const { namespace } = await admin.getNamespace({ name: name! });
        ctx.out(JSON.stringify(toJson(NamespaceSchema, namespace!), null, 2));
      });
    },
  },
  "namespace apply": {
    usage: "namespace apply -f FILE.yaml [--dry-run]",
    async run(ctx, args) {
      const file = flag(args, "-f");
      if (!file) throw new UsageError(this.usage);
      const yaml = readFileSync(file, "utf8");
      await withClient(ctx, AdminService, async (admin) => {
        const result = await admin.applyNamespace({
          spec: { case: "yaml", value: yaml },
          dryRun: args.includes("--dry-run"),
        });
        const verb = args.includes("--dry-run") ? "valid" : result.created ? "created" : "updated";
        ctx.out(`${result.namespace!.name} ${verb} (v${result.namespace!.version})`);
      });
    },
  },
  "namespace delete": {
    usage: "namespace delete NAME",
    async run(ctx, args) {
      const [name] = need(args, 1, this.usage);
      await withClient(ctx, AdminService, (admin) => admin.deleteNamespace({ name: name! }));
      ctx.out("ok");
    },
  },
  "schema register": {
    usage: "schema register FILE.binpb   (a FileDescriptorSet with imports: buf build -o FILE.binpb)",
    async run(ctx, args) {
      const [file] = need(args, 1, this.usage);
      const size = statSync(file!).size;
      if (size > MAX_SCHEMA_FILE_BYTES) {
        throw new UsageError(`${file}: ${size} bytes; a schema set is at most ${MAX_SCHEMA_FILE_BYTES}`);
      }
      const fileDescriptorSet = readFileSync(file!);
      await withClient(ctx, AdminService, async (admin) => {
        const { files, messageNames } = await admin.registerSchema({ fileDescriptorSet });
        for (const registered of files) ctx.out(`${registered.name}\tv${registered.version}`);
        ctx.out(`${messageNames.length} messages`);
      });
    },
  },
  "schema list": {
    usage: "schema list",
    async run(ctx) {
      await withClient(ctx, AdminService, async (admin) => {
        for (const registered of (await admin.listSchemas({})).files) {
          ctx.out(`${registered.name}\tv${registered.version}`);
        }
      });
    },
  },
  "backend list": {
    usage: "backend list",
    async run(ctx) {
      await withClient(ctx, AdminService, async (admin) => {
        for (const backend of (await admin.listBackends({})).backends) {
          const health = backend.health === 1 ? "SERVING" : `NOT_SERVING ${backend.healthMessage}`;
          ctx.out(`${backend.name}\t${backend.type}\t${health}\t${backend.capabilities.join(",")}`);
        }
      });
    },
  },
};
