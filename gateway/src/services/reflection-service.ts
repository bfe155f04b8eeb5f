import { create, type DescExtension, type DescFile, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { handleBidiStreamingCall, ServiceDefinition } from "@grpc/grpc-js";
import { grpcServiceDefinition } from "@prism/proto/grpc";
import * as v1 from "@prism/proto/grpc/reflection/v1/reflection";
import * as v1alpha from "@prism/proto/grpc/reflection/v1alpha/reflection";

/**
 * gRPC server reflection (v1 and v1alpha), answering from the generated descriptors. Every file
 * response carries the file and all its transitive imports as complete FileDescriptorProtos, so
 * `grpcurl list`, `describe` and calls work with no local .proto files.
 */
export class ReflectionIndex {
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly extensions = new Map<string, DescExtension[]>();
  private readonly encoded = new Map<string, Uint8Array>();

  constructor(
    roots: readonly DescFile[],
    readonly serviceNames: readonly string[],
  ) {
    for (const file of roots) this.addFile(file);
  }

  /** The serialized file descriptors for `file` and its imports, the file first. */
  closure(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.name)) return;
      seen.add(f.name);
      out.push(this.encode(f));
      for (const dependency of f.dependencies) visit(dependency);
    };
    visit(file);
    return out;
  }

  fileByName(name: string): DescFile | undefined {
    return this.files.get(name);
  }

  /** A message, enum, service, method or extension by fully qualified name. */
  fileBySymbol(symbol: string): DescFile | undefined {
    const name = symbol.replace(/^\./, "");
    return this.symbols.get(name) ?? this.symbols.get(name.slice(0, name.lastIndexOf(".")));
  }

  extensionsOf(typeName: string): DescExtension[] {
    return this.extensions.get(typeName) ?? [];
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.name)) return;
    this.files.set(file.name, file);
    for (const dependency of file.dependencies) this.addFile(dependency);
    const addMessage = (message: DescMessage) => {
      this.symbols.set(message.typeName, file);
      for (const nested of message.nestedMessages) addMessage(nested);
      for (const nested of message.nestedEnums) this.symbols.set(nested.typeName, file);
      for (const extension of message.nestedExtensions) this.addExtension(extension, file);
    };
    for (const message of file.messages) addMessage(message);
    for (const enumeration of file.enums) this.symbols.set(enumeration.typeName, file);
    for (const service of file.services) this.symbols.set(service.typeName, file);
    for (const extension of file.extensions) this.addExtension(extension, file);
  }

  private addExtension(extension: DescExtension, file: DescFile): void {
    this.symbols.set(extension.typeName, file);
    const list = this.extensions.get(extension.extendee.typeName) ?? [];
    list.push(extension);
    this.extensions.set(extension.extendee.typeName, list);
  }

  private encode(file: DescFile): Uint8Array {
    let bytes = this.encoded.get(file.name);
    if (!bytes) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.encoded.set(file.name, bytes);
    }
    return bytes;
  }
}

type Api = typeof v1 | typeof v1alpha;
type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/** The reflection services (v1 and v1alpha) with their handlers, ready for `server.addService`. */
export function reflectionServices(
  index: ReflectionIndex,
): { definition: ServiceDefinition; handler: handleBidiStreamingCall<Request, unknown> }[] {
  return [v1, v1alpha].map((api: Api) => ({
    definition: grpcServiceDefinition(api.ServerReflection),
    handler: (call) => {
      call.on("data", (request: Request) => call.write(answer(api, index, request)));
      call.on("end", () => call.end());
      call.on("error", () => call.end());
    },
  }));
}

function answer(api: Api, index: ReflectionIndex, request: Request) {
  const respond = (messageResponse: object) =>
    create(api.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, {
      validHost: request.host,
      originalRequest: request as v1.ServerReflectionRequest,
      messageResponse: messageResponse as v1.ServerReflectionResponse["messageResponse"],
    });
  const files = (file: DescFile | undefined, what: string) =>
    file
      ? respond({ case: "fileDescriptorResponse", value: { fileDescriptorProto: index.closure(file) } })
      : respond({ case: "errorResponse", value: { errorCode: 5, errorMessage: `${what} not found` } });
  const req = request.messageRequest;
  switch (req.case) {
    case "listServices":
      return respond({
        case: "listServicesResponse",
        value: { service: index.serviceNames.map((name) => ({ name })) },
      });
    case "fileByFilename":
      return files(index.fileByName(req.value), `file ${req.value}`);
    case "fileContainingSymbol":
      return files(index.fileBySymbol(req.value), `symbol ${req.value}`);
    case "fileContainingExtension": {
      const extension = index
        .extensionsOf(req.value.containingType)
        .find((e) => e.number === req.value.extensionNumber);
      return files(extension?.file, `extension ${req.value.extensionNumber} of ${req.value.containingType}`);
    }
    case "allExtensionNumbersOfType":
      return respond({
        case: "allExtensionNumbersResponse",
        value: {
          baseTypeName: req.value,
          extensionNumber: index.extensionsOf(req.value).map((e) => e.number),
        },
      });
    default:
      return respond({
        case: "errorResponse",
        value: { errorCode: 12, errorMessage: "unsupported request" },
      });
  }
}
