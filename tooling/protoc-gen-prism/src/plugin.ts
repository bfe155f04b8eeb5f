import type { DescFile, DescMessage } from "@bufbuild/protobuf";
import { createEcmaScriptPlugin, type Schema } from "@bufbuild/protoplugin";
import { Pattern } from "@prism/proto/prism/options/v1/options";
import packageJson from "../package.json" with { type: "json" };
import { manifestFileName, renderManifest } from "./manifest.js";
import { type ModelSpec, readModel } from "./model.js";
import { collectPiiFields } from "./pii-fields.js";
import { prismImports } from "./runtime-imports.js";
import { printFileDescriptorSet, printSchemaRegistration } from "./schema-registration.js";
import { printTypedClient, printTypedClientHelpers } from "./typed-client.js";

const NAME = "protoc-gen-prism";
const VERSION = `v${packageJson.version}`;

/**
 * The protoc plugin. For each message with `(prism.options.v1.model)` it writes, next to protoc-gen-es
 * output, `<file>_<Message>.namespace.yaml`; for KeyValue models also `<file>_prism.ts` with the typed
 * client and the schema registration. Run with `target=ts` (and protoc-gen-es's `import_extension`).
 *
 * @example
 * const response = protocGenPrism.run(codeGeneratorRequest); // response.file: [{ name, content }, ...]
 */
export const protocGenPrism = createEcmaScriptPlugin({
  name: NAME,
  version: VERSION,
  generateTs(schema: Schema) {
    if (schema.targets.length !== 1 || schema.targets[0] !== "ts") {
      throw new Error(`only target=ts is supported (got target=${schema.targets.join("+")})`);
    }
    const models = readModels(schema.files);
    for (const model of models) {
      const manifest = renderManifest(model, collectPiiFields(model.message), `${NAME} ${VERSION}`);
      schema.generateFile(manifestFileName(model)).print(manifest.trimEnd());
    }
    for (const file of schema.files) {
      const keyValueModels = models.filter((m) => m.message.file === file && m.pattern === Pattern.KEYVALUE);
      if (keyValueModels.length > 0) generateClientFile(schema, file, keyValueModels);
    }
  },
});

/** Every model of the files, validated; all problems are reported in one error. */
function readModels(files: readonly DescFile[]): ModelSpec[] {
  const models: ModelSpec[] = [];
  const problems: string[] = [];
  for (const file of files) {
    for (const message of messagesOf(file)) {
      try {
        const model = readModel(message);
        if (model) {
          collectPiiFields(message);
          models.push(model);
        }
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error));
      }
    }
  }
  for (const model of models) {
    const first = models.find((other) => other.namespace === model.namespace);
    if (first !== model && first) {
      problems.push(
        `${model.message.typeName}: namespace "${model.namespace}" is already the namespace of ${first.message.typeName}`,
      );
    }
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return models;
}

/** The messages of a file, nested ones included, in declaration order. */
function* messagesOf(file: DescFile): Iterable<DescMessage> {
  const visit = function* (messages: readonly DescMessage[]): Iterable<DescMessage> {
    for (const message of messages) {
      yield message;
      yield* visit(message.nestedMessages);
    }
  };
  yield* visit(file.messages);
}

function generateClientFile(schema: Schema, file: DescFile, models: readonly ModelSpec[]): void {
  const f = schema.generateFile(`${file.name}_prism.ts`);
  f.preamble(file);
  const imports = prismImports(f);
  printTypedClientHelpers(f, imports);
  printFileDescriptorSet(f, file, imports);
  for (const model of models) {
    printTypedClient(f, model, imports);
    printSchemaRegistration(f, model, imports);
  }
}
