import type { GeneratedFile } from "@bufbuild/protoplugin";
import type { ModelSpec } from "./model.js";
import { localName, pluralize } from "./names.js";
import type { PrismImports } from "./runtime-imports.js";

/**
 * The name of a KeyValue model's typed client class.
 *
 * @example
 * typedClientName(userProfileModel) // "UserProfiles"
 */
export function typedClientName(model: ModelSpec): string {
  return pluralize(localName(model.message));
}

/**
 * Prints what every typed client in a file shares: the empty item key and idempotency tokens.
 * Call once per file, before {@link printTypedClient}.
 */
export function printTypedClientHelpers(f: GeneratedFile, imports: PrismImports): void {
  const { randomUUID, timestampNow } = imports;
  f.print`// A model record is one item with the empty key (DESIGN §3, flat key/value).
const EMPTY_KEY = new Uint8Array(0);

// Every mutation carries a token, so a retry of the same call is a no-op on the server. Callers that
// retry themselves pass the token of the first attempt.
function idempotencyToken(token: string = ${randomUUID}()) {
  return { generationTime: ${timestampNow}(), token };
}
`;
}

/**
 * Prints the typed KeyValue client class of a model: `get`, `put` and `delete` of whole messages by id.
 *
 * @example
 * printTypedClient(f, userProfileModel, prismImports(f)); // export class UserProfiles { ... }
 */
export function printTypedClient(f: GeneratedFile, model: ModelSpec, imports: PrismImports): void {
  const { createPromiseClient, ClientTarget, PromiseClient, RpcOptions, KeyValueService } = imports;
  const { MessageInitShape, durationFromMs } = imports;
  const className = typedClientName(model);
  const message = model.message;
  const schema = f.importSchema(message);
  const shape = f.importShape(message);
  const { create, fromBinary, toBinary } = f.runtime;
  const kvClient = [
    `Pick<`,
    PromiseClient,
    `<(typeof `,
    KeyValueService,
    `)["method"]>, "get" | "put" | "delete">`,
  ];
  const example = `${className.charAt(0).toLowerCase()}${className.slice(1)}`;
  f.print(
    f.jsDoc(
      `Typed KeyValue client for \`${message.typeName}\` in namespace "${model.namespace}".\n` +
        "A record holds one message, encoded with `toBinary`, as the value of its only item (empty key).\n" +
        "Every mutation sends an idempotency token.\n\n" +
        "@example\n" +
        `const ${example} = new ${className}({ address: "127.0.0.1:8980" });\n` +
        `await ${example}.put("id-1", value); // a ${localName(message)}, or an init object of its fields\n` +
        `const value = await ${example}.get("id-1"); // undefined when there is no record\n` +
        `${example}.close();`,
    ),
  );
  f.print`${f.export("class", className)} {
  /** The namespace the model declares. */
  static readonly defaultNamespace = ${f.string(model.namespace)};
  /** The namespace this client reads and writes. */
  readonly namespace: string;
  readonly #kv: ${kvClient};
  readonly #close: () => void;

  /**
   * @param target Where the gateway listens, or a KeyValue client to share (\`close()\` then leaves it open).
   * @param options \`namespace\` overrides {@link ${className}.defaultNamespace}, e.g. for tests.
   */
  constructor(
    target: ${ClientTarget} | ${kvClient},
    options: { namespace?: string } = {},
  ) {
    this.namespace = options.namespace ?? ${className}.defaultNamespace;
    if ("address" in target) {
      const client = ${createPromiseClient}(${KeyValueService}, target);
      this.#kv = client;
      this.#close = () => client.close();
    } else {
      this.#kv = target;
      this.#close = () => {};
    }
  }

  /** Reads record \`id\`; undefined when it does not exist. */
  async get(id: string, options?: ${RpcOptions}): Promise<${shape} | undefined> {
    const { items } = await this.#kv.get(
      { namespace: this.namespace, id, predicate: { case: "keys", value: { keys: [EMPTY_KEY] } } },
      options,
    );
    const item = items.find((candidate) => candidate.key.length === 0);
    return item === undefined ? undefined : ${fromBinary}(${schema}, item.value);
  }

  /**
   * Creates or replaces record \`id\`.
   * @param options \`ttlMs\`: the record expires this long after the write; \`idempotencyToken\`: reuse the
   *   token of a failed attempt to retry it safely.
   */
  async put(
    id: string,
    value: ${MessageInitShape}<typeof ${schema}>,
    options: ${RpcOptions} & { ttlMs?: number; idempotencyToken?: string } = {},
  ): Promise<void> {
    const { ttlMs, idempotencyToken: token, ...rpcOptions } = options;
    if (ttlMs !== undefined && !(Number.isFinite(ttlMs) && ttlMs > 0)) {
      throw new RangeError(\`ttlMs must be a positive number of milliseconds, got \${ttlMs}\`);
    }
    const item = {
      key: EMPTY_KEY,
      value: ${toBinary}(${schema}, ${create}(${schema}, value)),
      ttl: ttlMs === undefined ? undefined : ${durationFromMs}(ttlMs),
    };
    await this.#kv.put(
      { namespace: this.namespace, id, items: [item], idempotencyToken: idempotencyToken(token) },
      rpcOptions,
    );
  }

  /** Deletes record \`id\`; deleting a record that does not exist succeeds. */
  async delete(id: string, options: ${RpcOptions} & { idempotencyToken?: string } = {}): Promise<void> {
    const { idempotencyToken: token, ...rpcOptions } = options;
    await this.#kv.delete({ namespace: this.namespace, id, idempotencyToken: idempotencyToken(token) }, rpcOptions);
  }

  /** Closes the connection this client opened; a shared KeyValue client stays open. */
  close(): void {
    this.#close();
  }
}
`;
}
