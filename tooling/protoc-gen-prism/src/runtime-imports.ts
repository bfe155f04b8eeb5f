import type { GeneratedFile, ImportSymbol } from "@bufbuild/protoplugin";

/** The package generated code imports Prism's services and gRPC client from. */
export const PRISM_PACKAGE = "@prism/proto";

/** Symbols generated Prism code uses beyond the model's own protoc-gen-es output. */
export interface PrismImports {
  createPromiseClient: ImportSymbol;
  ClientTarget: ImportSymbol;
  PromiseClient: ImportSymbol;
  RpcOptions: ImportSymbol;
  KeyValueService: ImportSymbol;
  AdminService: ImportSymbol;
  RegisterSchemaResponse: ImportSymbol;
  MessageInitShape: ImportSymbol;
  DescFile: ImportSymbol;
  FileDescriptorSetSchema: ImportSymbol;
  durationFromMs: ImportSymbol;
  timestampNow: ImportSymbol;
  randomUUID: ImportSymbol;
}

/**
 * Declares the imports of a generated file; protoplugin only writes the ones that get printed.
 *
 * @example
 * const { KeyValueService } = prismImports(f);
 * f.print`createPromiseClient(${KeyValueService}, target)`;
 */
export function prismImports(f: GeneratedFile): PrismImports {
  const grpc = `${PRISM_PACKAGE}/grpc`;
  return {
    createPromiseClient: f.import("createPromiseClient", grpc),
    ClientTarget: f.import("ClientTarget", grpc, true),
    PromiseClient: f.import("PromiseClient", grpc, true),
    RpcOptions: f.import("RpcOptions", grpc, true),
    KeyValueService: f.import("KeyValueService", `${PRISM_PACKAGE}/prism/keyvalue/v1/keyvalue`),
    AdminService: f.import("AdminService", `${PRISM_PACKAGE}/prism/admin/v1/admin`, true),
    RegisterSchemaResponse: f.import("RegisterSchemaResponse", `${PRISM_PACKAGE}/prism/admin/v1/admin`, true),
    MessageInitShape: f.import("MessageInitShape", "@bufbuild/protobuf", true),
    DescFile: f.import("DescFile", "@bufbuild/protobuf", true),
    FileDescriptorSetSchema: f.import("FileDescriptorSetSchema", "@bufbuild/protobuf/wkt"),
    durationFromMs: f.import("durationFromMs", "@bufbuild/protobuf/wkt"),
    timestampNow: f.import("timestampNow", "@bufbuild/protobuf/wkt"),
    randomUUID: f.import("randomUUID", "node:crypto"),
  };
}
