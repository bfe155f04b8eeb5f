import type { DescFile } from "@bufbuild/protobuf";
import type { GeneratedFile } from "@bufbuild/protoplugin";
import type { ModelSpec } from "./model.js";
import { localName, lowerFirst } from "./names.js";
import type { PrismImports } from "./runtime-imports.js";

/**
 * Prints the serialized FileDescriptorSet of a proto file (the file and its transitive imports,
 * dependencies first), built at run time from protoc-gen-es's embedded descriptors.
 * Call once per file, before {@link printSchemaRegistration}.
 */
export function printFileDescriptorSet(f: GeneratedFile, file: DescFile, imports: PrismImports): void {
  const { DescFile: DescFileType, FileDescriptorSetSchema } = imports;
  const { create, toBinary } = f.runtime;
  f.print`// ${file.proto.name} and everything it imports, dependencies first: what the gateway needs to decode
// the models of this file and read their annotations.
function fileDescriptorSet(root: ${DescFileType}): Uint8Array {
  const files: ${DescFileType}[] = [];
  const visit = (file: ${DescFileType}): void => {
    if (files.some((seen) => seen.proto.name === file.proto.name)) return;
    for (const dependency of file.dependencies) visit(dependency);
    files.push(file);
  };
  visit(root);
  return ${toBinary}(${FileDescriptorSetSchema}, ${create}(${FileDescriptorSetSchema}, { file: files.map((file) => file.proto) }));
}

const FILE_DESCRIPTOR_SET = /*@__PURE__*/ fileDescriptorSet(${f.importSchema(file)});
`;
}

/**
 * Prints `<model>SchemaRegistration` (message name + FileDescriptorSet) and `register<Model>Schema(admin)`.
 *
 * @example
 * printSchemaRegistration(f, userProfileModel, prismImports(f));
 * // export const userProfileSchemaRegistration = {...}; export async function registerUserProfileSchema(admin) {...}
 */
export function printSchemaRegistration(f: GeneratedFile, model: ModelSpec, imports: PrismImports): void {
  const { PromiseClient, AdminService, RpcOptions, RegisterSchemaResponse } = imports;
  const name = localName(model.message);
  const registration = `${lowerFirst(name)}SchemaRegistration`;
  f.print(
    f.jsDoc(
      `What the gateway needs to store \`${model.message.typeName}\` values in namespace "${model.namespace}":\n` +
        "the message name and a serialized `google.protobuf.FileDescriptorSet` holding its file and imports.",
    ),
  );
  f.print`${f.export("const", registration)} = {
  messageName: ${f.string(model.message.typeName)},
  fileDescriptorSet: FILE_DESCRIPTOR_SET,
} as const;
`;
  f.print(
    f.jsDoc(
      `Registers the schema of \`${model.message.typeName}\` with the gateway (\`AdminService.RegisterSchema\`).\n\n` +
        "@example\n" +
        `const admin = createPromiseClient(AdminService, { address: "127.0.0.1:8980" });\n` +
        `await register${name}Schema(admin);`,
    ),
  );
  f.print`${f.export("async function", `register${name}Schema`)}(
  admin: Pick<${PromiseClient}<(typeof ${AdminService})["method"]>, "registerSchema">,
  options?: ${RpcOptions},
): Promise<${RegisterSchemaResponse}> {
  return admin.registerSchema({ fileDescriptorSet: ${registration}.fileDescriptorSet }, options);
}
`;
}
