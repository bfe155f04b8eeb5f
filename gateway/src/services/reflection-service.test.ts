import {
  create,
  createFileRegistry,
  type DescEnum,
  type DescExtension,
  type DescFile,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { file_google_rpc_error_details } from "@prism/proto/google/rpc/error_details";
import { file_grpc_health_v1_health } from "@prism/proto/grpc/health/v1/health";
import * as v1 from "@prism/proto/grpc/reflection/v1/reflection";
import * as v1alpha from "@prism/proto/grpc/reflection/v1alpha/reflection";
import { file_prism_admin_v1_admin } from "@prism/proto/prism/admin/v1/admin";
import { file_prism_graph_v1_graph } from "@prism/proto/prism/graph/v1/graph";
import { file_prism_keyvalue_v1_keyvalue } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { file_prism_timeseries_v1_timeseries } from "@prism/proto/prism/timeseries/v1/timeseries";
import { describe, expect, it } from "vitest";
import { answerReflection, ReflectionIndex } from "./reflection-service.js";

/** The same roots as `SERVED_FILES` in gateway.ts. */
const SERVED_FILES: readonly DescFile[] = [
  file_prism_keyvalue_v1_keyvalue,
  file_prism_timeseries_v1_timeseries,
  file_prism_graph_v1_graph,
  file_prism_admin_v1_admin,
  file_grpc_health_v1_health,
  v1.file_grpc_reflection_v1_reflection,
  v1alpha.file_grpc_reflection_v1alpha_reflection,
  file_google_rpc_error_details,
];
const SERVICES = [
  "prism.keyvalue.v1.KeyValueService",
  "prism.admin.v1.AdminService",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];
const NOT_FOUND = 5;

const index = new ReflectionIndex(SERVED_FILES, SERVICES);

/** Every file reachable from the served roots through imports, by proto path. */
function allFiles(): Map<string, DescFile> {
  const files = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    file.dependencies.forEach(visit);
  };
  SERVED_FILES.forEach(visit);
  return files;
}

/** Every fully qualified name a file declares, walked through protobuf-es' descriptors. */
function symbolsOf(file: DescFile): string[] {
  const names: string[] = [];
  const scopeOf = (typeName: string) => typeName.slice(0, Math.max(0, typeName.lastIndexOf(".")));
  const join = (scope: string, name: string) => (scope ? `${scope}.${name}` : name);
  const addEnum = (enumeration: DescEnum) => {
    names.push(enumeration.typeName);
    for (const value of enumeration.values) names.push(join(scopeOf(enumeration.typeName), value.name));
  };
  const addExtension = (extension: DescExtension) => names.push(extension.typeName);
  const addMessage = (message: DescMessage) => {
    names.push(message.typeName);
    for (const field of message.fields) names.push(`${message.typeName}.${field.name}`);
    for (const oneof of message.oneofs) names.push(`${message.typeName}.${oneof.name}`);
    // Map entries and proto3-optional oneofs are in the descriptor but not in protobuf-es' lists.
    for (const nested of message.proto.nestedType) names.push(`${message.typeName}.${nested.name}`);
    for (const oneof of message.proto.oneofDecl) names.push(`${message.typeName}.${oneof.name}`);
    message.nestedMessages.forEach(addMessage);
    message.nestedEnums.forEach(addEnum);
    message.nestedExtensions.forEach(addExtension);
  };
  file.messages.forEach(addMessage);
  file.enums.forEach(addEnum);
  file.extensions.forEach(addExtension);
  for (const service of file.services) {
    names.push(service.typeName);
    for (const method of service.methods) names.push(`${service.typeName}.${method.name}`);
  }
  return [...new Set(names)];
}

function extensionsOf(file: DescFile): DescExtension[] {
  const out = [...file.extensions];
  const visit = (message: DescMessage) => {
    out.push(...message.nestedExtensions);
    message.nestedMessages.forEach(visit);
  };
  file.messages.forEach(visit);
  return out;
}

type Api = typeof v1 | typeof v1alpha;
type RequestCase = MessageInitShape<typeof v1.ServerReflectionRequestSchema>["messageRequest"];

/** Sends one request (built with `api`'s own schema) to the handler logic, as the server does. */
function ask(api: Api, messageRequest: RequestCase) {
  const schema = api.ServerReflectionRequestSchema as typeof v1.ServerReflectionRequestSchema;
  const request = create(schema, { host: "h", messageRequest });
  return answerReflection(api, index, request) as v1.ServerReflectionResponse;
}

/** The files of a file descriptor response, decoded; fails the test on any other answer. */
function filesIn(response: v1.ServerReflectionResponse): FileDescriptorProto[] {
  const answer = response.messageResponse;
  if (answer.case !== "fileDescriptorResponse") {
    throw new Error(`expected files, got ${answer.case}: ${JSON.stringify(answer.value)}`);
  }
  return answer.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
}

function expectNotFound(response: v1.ServerReflectionResponse, text: string) {
  expect(response.messageResponse.case).toBe("errorResponse");
  const error = response.messageResponse.value as v1.ErrorResponse;
  expect(error.errorCode).toBe(NOT_FOUND);
  expect(error.errorMessage).toContain(text);
}

/** `files` ordered so that every file comes after its imports. */
function importsFirst(files: FileDescriptorProto[]): FileDescriptorProto[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const out: FileDescriptorProto[] = [];
  const visit = (file: FileDescriptorProto | undefined) => {
    if (!file || out.includes(file)) return;
    for (const name of file.dependency) visit(byName.get(name));
    out.push(file);
  };
  files.forEach(visit);
  return out;
}

/** The transitive imports of a file, by name, including itself. */
function closureNames(file: DescFile): string[] {
  const seen = new Set<string>();
  const visit = (f: DescFile) => {
    if (seen.has(f.proto.name)) return;
    seen.add(f.proto.name);
    f.dependencies.forEach(visit);
  };
  visit(file);
  return [...seen].sort();
}

describe.each([
  ["v1", v1],
  ["v1alpha", v1alpha],
] as const)("server reflection %s", (_, api) => {
  const files = allFiles();

  it("covers the well-known types, options, error details, health and reflection files", () => {
    expect([...files.keys()]).toEqual(
      expect.arrayContaining([
        "google/protobuf/duration.proto",
        "google/protobuf/timestamp.proto",
        "google/protobuf/descriptor.proto",
        "prism/options/v1/options.proto",
        "prism/common/v1/common.proto",
        "google/rpc/error_details.proto",
        "grpc/health/v1/health.proto",
        "grpc/reflection/v1/reflection.proto",
        "grpc/reflection/v1alpha/reflection.proto",
      ]),
    );
    expect(index.fileNames().sort()).toEqual([...files.keys()].sort());
  });

  it("answers file_by_filename for every served file and every import, with the file first", () => {
    for (const [name, file] of files) {
      const answer = filesIn(ask(api, { case: "fileByFilename", value: name }));
      expect(answer[0]?.name, name).toBe(name);
      expect(answer.map((f) => f.name).sort(), name).toEqual(closureNames(file));
      // Each file answer is complete on its own: a registry builds from it alone. (Like grpc's own
      // servers, the file comes first and its imports after it; protobuf-es wants imports first.)
      const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: importsFirst(answer) }));
      expect(registry.getFile(name)?.proto.name, name).toBe(name);
      // Every import also resolves by its own name (how clients fetch dependencies).
      for (const dependency of answer[0]!.dependency) {
        expect(filesIn(ask(api, { case: "fileByFilename", value: dependency }))[0]?.name).toBe(dependency);
      }
    }
  });

  it("answers file_containing_symbol for every message, field, enum, value, service, method and extension", () => {
    let count = 0;
    for (const [name, file] of files) {
      for (const symbol of symbolsOf(file)) {
        const answer = filesIn(ask(api, { case: "fileContainingSymbol", value: symbol }));
        expect(answer[0]?.name, symbol).toBe(name);
        expect(answer.map((f) => f.name).sort(), symbol).toEqual(closureNames(file));
        count++;
      }
    }
    expect(count).toBeGreaterThan(500);
    for (const symbol of [
      "google.protobuf.Duration",
      "google.protobuf.FieldOptions",
      "prism.keyvalue.v1.KeyValueService.Put",
      "google.rpc.ErrorInfo",
      "grpc.health.v1.HealthCheckResponse.ServingStatus",
      "grpc.health.v1.HealthCheckResponse.SERVING",
      "grpc.reflection.v1alpha.ServerReflection.ServerReflectionInfo",
    ]) {
      expect(
        filesIn(ask(api, { case: "fileContainingSymbol", value: symbol })).length,
        symbol,
      ).toBeGreaterThan(0);
    }
  });

  it("answers file_containing_extension and all_extension_numbers_of_type for every extension", () => {
    const byExtendee = new Map<string, number[]>();
    for (const [name, file] of files) {
      for (const extension of extensionsOf(file)) {
        const extendee = extension.extendee.typeName;
        const answer = filesIn(
          ask(api, {
            case: "fileContainingExtension",
            value: { containingType: extendee, extensionNumber: extension.number },
          }),
        );
        expect(answer[0]?.name, extension.typeName).toBe(name);
        byExtendee.set(extendee, [...(byExtendee.get(extendee) ?? []), extension.number]);
      }
    }
    expect(byExtendee.size).toBeGreaterThan(0);
    for (const [extendee, numbers] of byExtendee) {
      const response = ask(api, { case: "allExtensionNumbersOfType", value: extendee });
      expect(response.messageResponse.case).toBe("allExtensionNumbersResponse");
      const value = response.messageResponse.value as v1.ExtensionNumberResponse;
      expect(value.baseTypeName).toBe(extendee);
      expect(value.extensionNumber).toEqual(numbers.sort((a, b) => a - b));
    }
    // A known message without extensions has an empty list, not an error.
    const none = ask(api, { case: "allExtensionNumbersOfType", value: "google.protobuf.Duration" });
    expect((none.messageResponse.value as v1.ExtensionNumberResponse).extensionNumber).toEqual([]);
  });

  it("answers NOT_FOUND for unknown names", () => {
    expectNotFound(ask(api, { case: "fileByFilename", value: "no/such.proto" }), "no/such.proto");
    // protobuf-es' DescFile.name lacks ".proto"; that is not a file name clients use.
    expectNotFound(ask(api, { case: "fileByFilename", value: "google/protobuf/duration" }), "duration");
    expectNotFound(ask(api, { case: "fileContainingSymbol", value: "no.such.Message" }), "no.such.Message");
    expectNotFound(
      ask(api, { case: "fileContainingSymbol", value: "prism.keyvalue.v1.PutRequest.no_such_field" }),
      "no_such_field",
    );
    expectNotFound(ask(api, { case: "fileContainingSymbol", value: "prism.keyvalue" }), "prism.keyvalue");
    expectNotFound(ask(api, { case: "fileContainingSymbol", value: "" }), "symbol");
    expectNotFound(
      ask(api, {
        case: "fileContainingExtension",
        value: { containingType: "google.protobuf.FieldOptions", extensionNumber: 1 },
      }),
      "extension 1",
    );
    expectNotFound(
      ask(api, {
        case: "fileContainingExtension",
        value: { containingType: "no.such.Type", extensionNumber: 51102 },
      }),
      "no.such.Type",
    );
    expectNotFound(ask(api, { case: "allExtensionNumbersOfType", value: "no.such.Type" }), "no.such.Type");
  });

  it("lists the services and echoes the request", () => {
    const response = ask(api, { case: "listServices", value: "*" });
    expect(response.validHost).toBe("h");
    expect(response.originalRequest?.messageRequest).toEqual({ case: "listServices", value: "*" });
    expect(response.messageResponse.case).toBe("listServicesResponse");
    const list = response.messageResponse.value as v1.ListServiceResponse;
    expect(list.service.map((s) => s.name)).toEqual(SERVICES);
    for (const service of SERVICES) {
      expect(filesIn(ask(api, { case: "fileContainingSymbol", value: service })).length).toBeGreaterThan(0);
    }
  });
});
