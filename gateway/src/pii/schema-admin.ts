import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type ListSchemasResponse,
  ListSchemasResponseSchema,
  type RegisterSchemaRequest,
  type RegisterSchemaResponse,
  RegisterSchemaResponseSchema,
  SchemaFileSchema,
} from "@prism/proto/prism/admin/v1/admin";
import type { NamespaceRegistry } from "../registry/namespace-registry.js";
import type { RegisteredFile } from "./schema-catalog.js";

/**
 * AdminService.RegisterSchema: stores the set's changed files as new versions (see
 * `registerSchemaSet`), answers every file of the set with its version.
 *
 * @example registerSchema(registry, { fileDescriptorSet }) // { messageNames: ["acme.v1.UserProfile", …], files: [{ name, version: 1 }] }
 */
export async function registerSchema(
  registry: NamespaceRegistry,
  request: RegisterSchemaRequest,
): Promise<RegisterSchemaResponse> {
  const { files, messageNames } = await registry.registerSchemas(request.fileDescriptorSet);
  return create(RegisterSchemaResponseSchema, { messageNames, files: files.map(toMessage) });
}

/** AdminService.ListSchemas: the newest version of every registered file and all their messages. */
export async function listSchemas(registry: NamespaceRegistry): Promise<ListSchemasResponse> {
  const { files, messageNames } = await registry.schemas();
  return create(ListSchemasResponseSchema, { messageNames, files: files.map(toMessage) });
}

function toMessage(file: RegisteredFile) {
  return create(SchemaFileSchema, {
    name: file.name,
    version: file.version,
    registerTime: timestampFromMs(file.registeredAt),
  });
}
