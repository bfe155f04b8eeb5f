import { readFileSync } from "node:fs";
import { toJson } from "@bufbuild/protobuf";
import { AdminService, NamespaceSchema } from "@prism/proto/prism/admin/v1/admin";
import { type Commands, flag, need, UsageError, withClient } from "./cli.js";

/** `namespace list|get|apply|delete`, `backend list`. */
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
