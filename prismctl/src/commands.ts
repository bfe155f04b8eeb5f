import { readFileSync } from "node:fs";
import { toJson } from "@bufbuild/protobuf";
import { createPromiseClient } from "@prism/proto/grpc";
import { AdminService, NamespaceSchema } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";

const encoder = new TextEncoder();

/** Where prismctl sends calls and how it prints. */
export interface CliContext {
  address: string;
  out: (line: string) => void;
}

type Command = (ctx: CliContext, args: string[]) => Promise<void>;

const token = () => ({
  generationTime: { seconds: BigInt(Math.floor(Date.now() / 1000)) },
  token: crypto.randomUUID(),
});

/** Keys and values on the command line are UTF-8 text; the empty key is the flat value. */
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

function need(args: string[], count: number, usage: string): string[] {
  if (args.length < count) throw new UsageError(usage);
  return args;
}

export class UsageError extends Error {}

/** Every command, by its words. */
export const COMMANDS: Record<string, { usage: string; run: Command }> = {
  "kv put": {
    usage: "kv put NAMESPACE ID VALUE [--key KEY]",
    async run(ctx, args) {
      const [namespace, id, value] = need(args, 3, this.usage);
      const key = flag(args, "--key") ?? "";
      await withKv(ctx, (kv) =>
        kv.put({
          namespace: namespace!,
          id: id!,
          items: [{ key: encoder.encode(key), value: encoder.encode(value!) }],
          idempotencyToken: token(),
        }),
      );
      ctx.out("ok");
    },
  },
  "kv get": {
    usage: "kv get NAMESPACE ID",
    async run(ctx, args) {
      const [namespace, id] = need(args, 2, this.usage);
      await withKv(ctx, async (kv) => {
        let pageToken = "";
        do {
          const page = await kv.get({ namespace: namespace!, id: id!, pageToken });
          for (const item of page.items) {
            ctx.out(item.key.length === 0 ? text(item.value) : `${text(item.key)}\t${text(item.value)}`);
          }
          pageToken = page.nextPageToken;
        } while (pageToken);
      });
    },
  },
  "kv delete": {
    usage: "kv delete NAMESPACE ID",
    async run(ctx, args) {
      const [namespace, id] = need(args, 2, this.usage);
      await withKv(ctx, (kv) => kv.delete({ namespace: namespace!, id: id!, idempotencyToken: token() }));
      ctx.out("ok");
    },
  },
  "kv scan": {
    usage: "kv scan NAMESPACE",
    async run(ctx, args) {
      const [namespace] = need(args, 1, this.usage);
      await withKv(ctx, async (kv) => {
        for await (const message of kv.scan({ namespace: namespace! })) {
          for (const item of message.items) ctx.out(`${message.id}\t${text(item.key)}\t${text(item.value)}`);
        }
      });
    },
  },
  "namespace list": {
    usage: "namespace list",
    async run(ctx) {
      await withAdmin(ctx, async (admin) => {
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
      await withAdmin(ctx, async (admin) => {
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
      await withAdmin(ctx, async (admin) => {
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
      await withAdmin(ctx, (admin) => admin.deleteNamespace({ name: name! }));
      ctx.out("ok");
    },
  },
  "backend list": {
    usage: "backend list",
    async run(ctx) {
      await withAdmin(ctx, async (admin) => {
        for (const backend of (await admin.listBackends({})).backends) {
          const health = backend.health === 1 ? "SERVING" : `NOT_SERVING ${backend.healthMessage}`;
          ctx.out(`${backend.name}\t${backend.type}\t${health}\t${backend.capabilities.join(",")}`);
        }
      });
    },
  },
};

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function withKv<T>(ctx: CliContext, use: (kv: ReturnType<typeof kvClient>) => Promise<T>): Promise<T> {
  const kv = kvClient(ctx);
  try {
    return await use(kv);
  } finally {
    kv.close();
  }
}

const kvClient = (ctx: CliContext) => createPromiseClient(KeyValueService, { address: ctx.address });
const adminClient = (ctx: CliContext) => createPromiseClient(AdminService, { address: ctx.address });

async function withAdmin<T>(
  ctx: CliContext,
  use: (admin: ReturnType<typeof adminClient>) => Promise<T>,
): Promise<T> {
  const admin = adminClient(ctx);
  try {
    return await use(admin);
  } finally {
    admin.close();
  }
}
