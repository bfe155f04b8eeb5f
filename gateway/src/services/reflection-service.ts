import { create, type DescExtension, type DescFile, type DescMessage, toBinary } from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  type EnumDescriptorProto,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import * as v1 from "@prism/proto/grpc/reflection/v1/reflection";
import * as v1alpha from "@prism/proto/grpc/reflection/v1alpha/reflection";
import type { ServiceSet } from "../pipeline/serve.js";

/** gRPC status codes carried in a reflection `ErrorResponse`. */
const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/**
 * gRPC server reflection (v1 and v1alpha), answering from the generated descriptors of `roots` and
 * everything they import. Files are keyed by their proto path (`google/protobuf/duration.proto`,
 * i.e. `FileDescriptorProto.name`; protobuf-es' `DescFile.name` drops the `.proto` suffix and must
 * not be used as the key). Symbols are every full name protoc's descriptor pool knows: messages,
 * fields, oneofs, enums, enum values (in the enum's enclosing scope), services, methods and
 * extensions, nested ones included. Every file answer carries the file first and then all its
 * transitive imports, each once, as complete serialized FileDescriptorProtos: clients that read
 * only the first file and fetch imports by name work, and so do those (grpcurl) that expect the
 * whole closure.
 */
export class ReflectionIndex {
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly messages = new Set<string>();
  private readonly extensions = new Map<string, Map<number, DescExtension>>();
  private readonly encoded = new Map<string, Uint8Array>();

  constructor(
    roots: readonly DescFile[],
    readonly serviceNames: readonly string[],
  ) {
    for (const file of roots) this.addFile(file);
  }

  /** The serialized file descriptors for `file` and its transitive imports, the file first. */
  closure(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(this.encode(f));
      for (const dependency of f.dependencies) visit(dependency);
    };
    visit(file);
    return out;
  }

  /** A file by its proto path, e.g. `google/protobuf/duration.proto`. */
  fileByName(name: string): DescFile | undefined {
    return this.files.get(name);
  }

  /** The file declaring a fully qualified symbol (a leading dot is allowed). */
  fileBySymbol(symbol: string): DescFile | undefined {
    return this.symbols.get(symbol.replace(/^\./, ""));
  }

  /** The file declaring extension `number` of message `typeName`. */
  fileByExtension(typeName: string, number: number): DescFile | undefined {
    return this.extensions.get(typeName.replace(/^\./, ""))?.get(number)?.file;
  }

  /** Extension numbers of message `typeName` in ascending order; undefined when it is no known message. */
  extensionNumbersOf(typeName: string): number[] | undefined {
    const name = typeName.replace(/^\./, "");
    if (!this.messages.has(name)) return undefined;
    return [...(this.extensions.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** Every file's proto path, imports included. */
  fileNames(): string[] {
    return [...this.files.keys()];
  }

  private addFile(file: DescFile): void {
    const name = file.proto.name;
    if (this.files.has(name)) return;
    this.files.set(name, file);
    for (const dependency of file.dependencies) this.addFile(dependency);

    // Names come from the FileDescriptorProto, the same data clients receive, so every name a
    // client can see in an answer also resolves.
    const symbol = (fullName: string) => this.symbols.set(fullName, file);
    const scoped = (scope: string, local: string) => (scope ? `${scope}.${local}` : local);
    const addEnum = (scope: string, enumeration: EnumDescriptorProto) => {
      symbol(scoped(scope, enumeration.name));
      // Enum values are siblings of their enum (C++ scoping), as in protoc's descriptor pool.
      for (const value of enumeration.value) symbol(scoped(scope, value.name));
    };
    const addMessage = (scope: string, message: DescriptorProto) => {
      const fullName = scoped(scope, message.name);
      symbol(fullName);
      this.messages.add(fullName);
      for (const field of message.field) symbol(`${fullName}.${field.name}`);
      for (const oneof of message.oneofDecl) symbol(`${fullName}.${oneof.name}`);
      for (const extension of message.extension) symbol(`${fullName}.${extension.name}`);
      for (const nested of message.nestedType) addMessage(fullName, nested);
      for (const nested of message.enumType) addEnum(fullName, nested);
    };
    const pkg = file.proto.package;
    for (const message of file.proto.messageType) addMessage(pkg, message);
    for (const enumeration of file.proto.enumType) addEnum(pkg, enumeration);
    for (const extension of file.proto.extension) symbol(scoped(pkg, extension.name));
    for (const service of file.proto.service) {
      const fullName = scoped(pkg, service.name);
      symbol(fullName);
      for (const method of service.method) symbol(`${fullName}.${method.name}`);
    }

    const addExtensions = (message: DescMessage) => {
      for (const extension of message.nestedExtensions) this.addExtension(extension);
      for (const nested of message.nestedMessages) addExtensions(nested);
    };
    for (const extension of file.extensions) this.addExtension(extension);
    for (const message of file.messages) addExtensions(message);
  }

  private addExtension(extension: DescExtension): void {
    const extendee = extension.extendee.typeName;
    let byNumber = this.extensions.get(extendee);
    if (!byNumber) {
      byNumber = new Map();
      this.extensions.set(extendee, byNumber);
    }
    byNumber.set(extension.number, extension);
  }

  private encode(file: DescFile): Uint8Array {
    let bytes = this.encoded.get(file.proto.name);
    if (!bytes) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.encoded.set(file.proto.name, bytes);
    }
    return bytes;
  }
}

type Api = typeof v1 | typeof v1alpha;
type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/**
 * Serves reflection v1 and v1alpha through the gateway's pipeline: one answer per request on
 * the bidi stream, until the client closes its side.
 *
 * @example serveReflection(services, new ReflectionIndex(services.files, services.serviceNames));
 */
export function serveReflection(services: ServiceSet, index: ReflectionIndex): void {
  services.serve(v1.ServerReflection, {
    serverReflectionInfo: (requests) => answerAll(v1, index, requests),
  });
  services.serve(v1alpha.ServerReflection, {
    serverReflectionInfo: (requests) =>
      answerAll(v1alpha, index, requests) as AsyncIterable<v1alpha.ServerReflectionResponse>,
  });
}

/** The service names reflection adds to a server, and the files that define them. */
export const REFLECTION_SERVICE_NAMES: readonly string[] = [
  v1.ServerReflection.typeName,
  v1alpha.ServerReflection.typeName,
];
export const REFLECTION_FILES: readonly DescFile[] = [
  v1.file_grpc_reflection_v1_reflection,
  v1alpha.file_grpc_reflection_v1alpha_reflection,
];

async function* answerAll(
  api: Api,
  index: ReflectionIndex,
  requests: AsyncIterable<Request>,
): AsyncIterable<v1.ServerReflectionResponse> {
  for await (const request of requests) yield answerReflection(api, index, request);
}

/**
 * The response to one reflection request. Unknown files, symbols, extensions and types get an
 * `ErrorResponse` with NOT_FOUND (what grpc's own servers send and clients such as Python's
 * `ProtoReflectionDescriptorDatabase` turn into a KeyError); the stream stays open.
 */
export function answerReflection(api: Api, index: ReflectionIndex, request: Request) {
  const respond = (messageResponse: object) =>
    create(api.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, {
      validHost: request.host,
      originalRequest: request as v1.ServerReflectionRequest,
      messageResponse: messageResponse as v1.ServerReflectionResponse["messageResponse"],
    });
  const error = (errorCode: number, errorMessage: string) =>
    respond({ case: "errorResponse", value: { errorCode, errorMessage } });
  const files = (file: DescFile | undefined, what: string) =>
    file
      ? respond({ case: "fileDescriptorResponse", value: { fileDescriptorProto: index.closure(file) } })
      : error(NOT_FOUND, `${what} not found`);
  const req = request.messageRequest;
  switch (req.case) {
    case "listServices":
      return respond({
        case: "listServicesResponse",
        value: { service: index.serviceNames.map((name) => ({ name })) },
      });
    case "fileByFilename":
      return files(index.fileByName(req.value), `file ${JSON.stringify(req.value)}`);
    case "fileContainingSymbol":
      return files(index.fileBySymbol(req.value), `symbol ${JSON.stringify(req.value)}`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = req.value;
      return files(
        index.fileByExtension(containingType, extensionNumber),
        `extension ${extensionNumber} of ${JSON.stringify(containingType)}`,
      );
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbersOf(req.value);
      return numbers
        ? respond({
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: req.value, extensionNumber: numbers },
          })
        : error(NOT_FOUND, `message type ${JSON.stringify(req.value)} not found`);
    }
    default:
      return error(UNIMPLEMENTED, "unsupported reflection request");
  }
}
