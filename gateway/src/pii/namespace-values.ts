import { randomBytes } from "node:crypto";
import type { DescMessage } from "@bufbuild/protobuf";
import { PrismError } from "@prism/core";
import type { NamespaceSpec } from "../config/namespace-spec.js";
import type { NamespacedContext, Principal } from "../context.js";
import type { FieldCipher, ValueCall, ValuePolicy } from "./contract.js";
import { encryptedPaths, planMessage } from "./field-plan.js";
import { MIN_HASH_KEY_BYTES } from "./redact.js";
import type { SchemaCatalog } from "./schema-catalog.js";
import { resealStored, schemaValuePolicy, sealsFields, type ValuePolicySettings } from "./schema-values.js";

/**
 * Why a namespace's `schema:` cannot be served with this gateway's settings (empty = it can):
 * the message is not registered, the pattern holds no values, a field takes Prism's envelope
 * number, or the message has `encrypt` fields and no cipher is configured — those would be stored
 * in clear, so the namespace is refused instead.
 *
 * @example const problems = schemaProblems(spec, catalog, settings) // ["schema: acme.v1.Nope is not a registered message …"]
 */
export function schemaProblems(
  spec: Pick<NamespaceSpec, "schema" | "pattern">,
  catalog: SchemaCatalog,
  settings: ValuePolicySettings,
): string[] {
  if (spec.schema === undefined) return [];
  if (spec.pattern === "graph") return ["schema: graph namespaces hold no values for a schema to describe"];
  const message = catalog.message(spec.schema);
  if (!message) {
    return [
      `schema: ${spec.schema} is not a registered message (register its .proto with AdminService.RegisterSchema first)`,
    ];
  }
  const problem = servingProblem(message, settings);
  return problem ? [`schema: ${problem}`] : [];
}

/** Why values of `message` cannot be served with `settings`, if they cannot. */
export function servingProblem(message: DescMessage, settings: ValuePolicySettings): string | undefined {
  let plans: ReturnType<typeof planMessage>;
  try {
    plans = planMessage(message);
  } catch (error) {
    return (error as Error).message;
  }
  const sealed = encryptedPaths(plans, message);
  if (sealed.length > 0 && !settings.cipher) {
    return `${message.typeName} marks fields encrypt (${sealed.join(", ")}) and this gateway has no keyring configured (pii.keyring); refusing rather than storing them in clear`;
  }
  return undefined;
}

/**
 * The value policy of a namespace with a `schema:` (undefined without one, or when the message
 * has no annotations). A config-file namespace whose schema cannot be served yet (not registered)
 * gets a policy that refuses every value with SCHEMA_UNAVAILABLE: never values in clear.
 */
export function namespaceValuePolicy(
  spec: Pick<NamespaceSpec, "schema" | "pattern">,
  catalog: SchemaCatalog,
  settings: ValuePolicySettings,
): ValuePolicy | undefined {
  if (spec.schema === undefined || spec.pattern === "graph") return undefined;
  const problems = schemaProblems(spec, catalog, settings);
  if (problems.length > 0) return refusing(spec.schema, problems.join("; "));
  return schemaValuePolicy(catalog.message(spec.schema)!, settings);
}

function refusing(messageName: string, problem: string): ValuePolicy {
  const refuse = async (): Promise<never> => {
    throw new PrismError("FailedPrecondition", `the namespace's ${problem}`, {
      reason: "SCHEMA_UNAVAILABLE",
      metadata: { schema: messageName },
    });
  };
  return { messageName, toStorage: refuse, fromStorage: refuse };
}

/**
 * Whether `principal` reads PII of the namespace in clear: only when listed on its `access.pii`
 * (`user:`, `service:` or `group:` entries, as for read and write). A namespace without `access`
 * is open for reading and writing, but its PII is masked for everyone: clear PII is always an
 * explicit grant.
 */
export function piiClear(spec: Pick<NamespaceSpec, "access">, principal: Principal): boolean {
  const list = spec.access?.pii;
  if (!list) return false;
  return list.some(
    (entry) =>
      entry === `user:${principal.subject}` ||
      entry === `service:${principal.subject}` ||
      (entry.startsWith("group:") && principal.groups.includes(entry.slice(6))),
  );
}

/** The {@link ValueCall} of a resolved call. */
export function valueCall(ctx: NamespacedContext): ValueCall {
  return {
    namespace: ctx.namespace.spec.name,
    principal: ctx.principal,
    piiClear: piiClear(ctx.namespace.spec, ctx.principal),
    signal: ctx.signal,
  };
}

/**
 * The key of HASH masks: base64 in `PRISM_PII_HASH_KEY` (at least 16 bytes), so masks agree
 * across restarts and gateways. Without it a random key per process: masks still compare within
 * one gateway's answers, and `warn` says so.
 *
 * @example const hashKey = loadHashKey(process.env, (message) => logger.warn(message))
 */
export function loadHashKey(env: NodeJS.ProcessEnv, warn: (message: string) => void): Uint8Array {
  const text = env.PRISM_PII_HASH_KEY;
  if (text === undefined || text === "") {
    warn(
      "PRISM_PII_HASH_KEY is not set: HASH masks use a random key and differ between gateways and restarts",
    );
    return randomBytes(32);
  }
  const key = Buffer.from(text, "base64");
  if (key.length < MIN_HASH_KEY_BYTES) {
    throw new PrismError(
      "InvalidArgument",
      `PRISM_PII_HASH_KEY: at least ${MIN_HASH_KEY_BYTES} bytes, base64`,
    );
  }
  return key;
}

/**
 * What a re-encrypt job uses to move a namespace's stored values to its current data key: for a
 * KeyValue namespace whose schema seals fields, each value's sealed part opened and sealed again;
 * undefined for any other namespace (StartReEncrypt refuses it).
 *
 * @example new PiiAdmin(registry, pii, resealerOf(cipher))
 */
export function resealerOf(cipher: FieldCipher | undefined) {
  return (namespace: {
    spec: Pick<NamespaceSpec, "name" | "pattern">;
    values?: ValuePolicy | undefined;
  }): ((value: Uint8Array) => Promise<Uint8Array | undefined>) | undefined => {
    if (!cipher || namespace.spec.pattern !== "keyvalue" || !sealsFields(namespace.values)) return undefined;
    const name = namespace.spec.name;
    return (value) => resealStored(cipher, name, value);
  };
}
