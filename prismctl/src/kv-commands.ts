import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { type Commands, encoder, flag, need, text, withClient } from "./cli.js";

const token = () => ({
  generationTime: { seconds: BigInt(Math.floor(Date.now() / 1000)) },
  token: crypto.randomUUID(),
});

/** `kv put|get|delete|scan`: the empty key is the flat value. */
export const KV_COMMANDS: Commands = {
  "kv put": {
    usage: "kv put NAMESPACE ID VALUE [--key KEY]",
    async run(ctx, args) {
      const [namespace, id, value] = need(args, 3, this.usage);
      const key = flag(args, "--key") ?? "";
      await withClient(ctx, KeyValueService, (kv) =>
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
      await withClient(ctx, KeyValueService, async (kv) => {
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
      await withClient(ctx, KeyValueService, (kv) =>
        kv.delete({ namespace: namespace!, id: id!, idempotencyToken: token() }),
      );
      ctx.out("ok");
    },
  },
  "kv scan": {
    usage: "kv scan NAMESPACE",
    async run(ctx, args) {
      const [namespace] = need(args, 1, this.usage);
      await withClient(ctx, KeyValueService, async (kv) => {
        for await (const message of kv.scan({ namespace: namespace! })) {
          for (const item of message.items) ctx.out(`${message.id}\t${text(item.key)}\t${text(item.value)}`);
        }
      });
    },
  },
};
