import {
  create,
  createFileRegistry,
  type DescMessage,
  type FileRegistry,
  fromBinary,
  fromJson,
  type JsonValue,
  type MessageInitShape,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { Client, credentials, type ServiceError } from "@grpc/grpc-js";
import * as v1 from "@prism/proto/grpc/reflection/v1/reflection";
import * as v1alpha from "@prism/proto/grpc/reflection/v1alpha/reflection";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";

/**
 * Server reflection for clients that carry no descriptors of their own and resolve every import
 * by file name (Python's grpcio-reflection, protobufjs-based tools), unlike grpcurl, which ships
 * the well-known types. `ReflectionDatabase` below mirrors grpcio-reflection's
 * `ProtoReflectionDescriptorDatabase` and `DescriptorPool` over it: a symbol is looked up with
 * `file_containing_symbol`, then every import of a file with `file_by_filename` unless an earlier
 * answer already brought it; each request is its own stream, and an `ErrorResponse` other than
 * NOT_FOUND is a protocol violation. The descriptors it ends up with are all the test uses to call
 * the KeyValue service.
 */
const KV = "prism.keyvalue.v1.KeyValueService";
const NOT_FOUND = 5;

type Api = typeof v1 | typeof v1alpha;
type RequestCase = MessageInitShape<typeof v1.ServerReflectionRequestSchema>;

/** A lookup the server answered with NOT_FOUND (Python raises KeyError). */
class NotFound extends Error {}

class ReflectionDatabase {
  /** Files the server has sent, by name (grpcio-reflection's `_known_files` plus the database). */
  private readonly files = new Map<string, FileDescriptorProto>();
  /** Every request sent, as `kind:argument`, to check what went over the wire. */
  readonly sent: string[] = [];
  private readonly client: Client;

  /**
   * @param onlyAsked keep only the file asked for from each answer and fetch each import by name
   *   even when the answer carried it: the client of a server that answers with single files (as
   *   grpcio's Python server does), so every import must resolve through `file_by_filename`.
   */
  constructor(
    address: string,
    private readonly api: Api,
    private readonly onlyAsked = false,
  ) {
    this.client = new Client(address, credentials.createInsecure());
  }

  close(): void {
    this.client.close();
  }

  knownFiles(): string[] {
    return [...this.files.keys()];
  }

  async services(): Promise<string[]> {
    const response = await this.request({ messageRequest: { case: "listServices", value: "" } });
    if (response.messageResponse.case !== "listServicesResponse") throw new Error("no service list");
    return response.messageResponse.value.service.map((service) => service.name);
  }

  /** `FindFileByName`: the local copy, else `file_by_filename`. */
  async fileByName(name: string): Promise<FileDescriptorProto> {
    const known = this.files.get(name);
    if (known) return known;
    this.addFiles(await this.request({ messageRequest: { case: "fileByFilename", value: name } }));
    const file = this.files.get(name);
    if (!file) throw new NotFound(`the answer for ${name} does not contain it`);
    return file;
  }

  /**
   * `FindFileContainingSymbol`, asking the server even when a known file declares the symbol
   * (Python looks locally first; here the server's symbol index is what is tested).
   */
  async fileContainingSymbol(symbol: string): Promise<FileDescriptorProto> {
    const response = await this.request({ messageRequest: { case: "fileContainingSymbol", value: symbol } });
    this.addFiles(response);
    const first = response.messageResponse.value as v1.FileDescriptorResponse;
    return fromBinary(FileDescriptorProtoSchema, first.fileDescriptorProto[0]!);
  }

  async fileContainingExtension(
    containingType: string,
    extensionNumber: number,
  ): Promise<FileDescriptorProto> {
    const response = await this.request({
      messageRequest: { case: "fileContainingExtension", value: { containingType, extensionNumber } },
    });
    this.addFiles(response);
    const first = response.messageResponse.value as v1.FileDescriptorResponse;
    return fromBinary(FileDescriptorProtoSchema, first.fileDescriptorProto[0]!);
  }

  async extensionNumbers(typeName: string): Promise<number[]> {
    const response = await this.request({
      messageRequest: { case: "allExtensionNumbersOfType", value: typeName },
    });
    if (response.messageResponse.case !== "allExtensionNumbersResponse") throw new Error("no numbers");
    expect(response.messageResponse.value.baseTypeName).toBe(typeName);
    return response.messageResponse.value.extensionNumber;
  }

  /**
   * `DescriptorPool.FindFileByName` / `FindFileContainingSymbol` over this database: the file and,
   * recursively, each import by its file name, then a registry built from nothing but those answers.
   */
  async registryFor(file: FileDescriptorProto): Promise<FileRegistry> {
    const ordered: FileDescriptorProto[] = [];
    const visit = async (f: FileDescriptorProto, path: string[]) => {
      if (ordered.some((o) => o.name === f.name)) return;
      for (const dependency of f.dependency) {
        if (path.includes(dependency)) throw new Error(`import cycle ${[...path, dependency].join(" -> ")}`);
        await visit(await this.fileByName(dependency), [...path, dependency]);
      }
      ordered.push(f);
    };
    await visit(file, [file.name]);
    // Imports come before the files that use them, as createFileRegistry wants.
    return createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
  }

  private addFiles(response: v1.ServerReflectionResponse): void {
    if (response.messageResponse.case !== "fileDescriptorResponse") throw new Error("no files");
    const answer = response.messageResponse.value.fileDescriptorProto;
    for (const bytes of this.onlyAsked ? answer.slice(0, 1) : answer) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      if (!this.files.has(file.name)) this.files.set(file.name, file);
    }
  }

  /** One request on its own stream, like grpcio-reflection's `_do_one_request`. */
  private request(init: RequestCase): Promise<v1.ServerReflectionResponse> {
    const request = create(
      this.api.ServerReflectionRequestSchema as typeof v1.ServerReflectionRequestSchema,
      init,
    );
    const { case: kind, value } = request.messageRequest;
    this.sent.push(
      `${kind}:${typeof value === "object" ? `${value.containingType}#${value.extensionNumber}` : value}`,
    );
    return this.exchange([request]).then(([response]) => {
      if (!response) throw new Error("stream ended without an answer");
      if (response.messageResponse.case === "errorResponse") {
        const { errorCode, errorMessage } = response.messageResponse.value;
        if (errorCode !== NOT_FOUND)
          throw new Error(`unexpected error response ${errorCode}: ${errorMessage}`);
        throw new NotFound(errorMessage);
      }
      return response;
    });
  }

  /** Sends `requests` on one stream and collects every answer until the server ends it. */
  exchange(requests: v1.ServerReflectionRequest[]): Promise<v1.ServerReflectionResponse[]> {
    const requestSchema = this.api.ServerReflectionRequestSchema as typeof v1.ServerReflectionRequestSchema;
    const responseSchema = this.api
      .ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema;
    return new Promise((resolve, reject) => {
      const call = this.client.makeBidiStreamRequest(
        `/${this.api.ServerReflection.typeName}/ServerReflectionInfo`,
        (message: v1.ServerReflectionRequest) => Buffer.from(toBinary(requestSchema, message)),
        (bytes: Buffer) => fromBinary(responseSchema, bytes),
        { deadline: Date.now() + 10_000 },
      );
      const responses: v1.ServerReflectionResponse[] = [];
      call.on("data", (response: v1.ServerReflectionResponse) => responses.push(response));
      call.on("error", reject);
      call.on("end", () => resolve(responses));
      for (const request of requests) call.write(request);
      call.end();
    });
  }
}

/** Every full name a client may ask for: the names in the files it has, as the descriptor pool knows them. */
function symbolsIn(file: FileDescriptorProto): string[] {
  const names: string[] = [];
  const join = (scope: string, name: string) => (scope ? `${scope}.${name}` : name);
  const addMessage = (scope: string, message: FileDescriptorProto["messageType"][number]) => {
    const name = join(scope, message.name);
    names.push(
      name,
      ...message.field.map((f) => `${name}.${f.name}`),
      ...message.oneofDecl.map((o) => `${name}.${o.name}`),
    );
    names.push(...message.extension.map((e) => `${name}.${e.name}`));
    for (const nested of message.nestedType) addMessage(name, nested);
    for (const nested of message.enumType)
      names.push(join(name, nested.name), ...nested.value.map((v) => join(name, v.name)));
  };
  for (const message of file.messageType) addMessage(file.package, message);
  for (const e of file.enumType)
    names.push(join(file.package, e.name), ...e.value.map((v) => join(file.package, v.name)));
  for (const e of file.extension) names.push(join(file.package, e.name));
  for (const service of file.service) {
    const name = join(file.package, service.name);
    names.push(name, ...service.method.map((m) => `${name}.${m.name}`));
  }
  return names;
}

let gateway: GatewayProcess;

beforeAll(async () => {
  gateway = await startGatewayProcess({
    backends: { local: { type: "sqlite", path: "reflection-by-filename.db" } },
    namespaces: [{ name: "demo-kv", pattern: "keyvalue", backend: "local" }],
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

describe.each([
  ["v1alpha", v1alpha],
  ["v1", v1],
] as const)("a reflection client that resolves imports by file name (%s)", (_, api) => {
  it("resolves every service, and every file it imports by name, into a working descriptor set", async () => {
    const db = new ReflectionDatabase(gateway.address, api);
    try {
      const services = await db.services();
      expect(services).toContain(KV);
      for (const service of services) {
        const file = await db.fileContainingSymbol(service);
        const registry = await db.registryFor(file);
        expect(registry.getService(service)?.methods.length, service).toBeGreaterThan(0);
      }
      const files = db.knownFiles();
      expect(files).toEqual(
        expect.arrayContaining([
          "prism/keyvalue/v1/keyvalue.proto",
          "google/protobuf/duration.proto",
          "google/protobuf/timestamp.proto",
          "google/protobuf/descriptor.proto",
          "prism/options/v1/options.proto",
          "grpc/health/v1/health.proto",
          "grpc/reflection/v1/reflection.proto",
          "grpc/reflection/v1alpha/reflection.proto",
        ]),
      );

      // A client that starts from any one file name (Python: pool.FindFileByName) gets it, and
      // every import it asks for by name, from the server.
      for (const name of files) {
        const fresh = new ReflectionDatabase(gateway.address, api);
        try {
          const registry = await fresh.registryFor(await fresh.fileByName(name));
          expect(registry.getFile(name)?.proto.name).toBe(name);
          expect(fresh.sent[0]).toBe(`fileByFilename:${name}`);
        } finally {
          fresh.close();
        }
      }
    } finally {
      db.close();
    }
  });

  it("resolves every symbol of every file, and every extension, by name", async () => {
    const db = new ReflectionDatabase(gateway.address, api);
    const schema = api.ServerReflectionRequestSchema as typeof v1.ServerReflectionRequestSchema;
    try {
      for (const service of await db.services()) await db.fileContainingSymbol(service);
      let symbols = 0;
      for (const name of db.knownFiles()) {
        const file = await db.fileByName(name);
        // All of a file's symbols on one stream (the protocol allows any number of requests per
        // stream; one stream per symbol would take seconds).
        const names = symbolsIn(file);
        const answers = await db.exchange(
          names.map((symbol) =>
            create(schema, { messageRequest: { case: "fileContainingSymbol", value: symbol } }),
          ),
        );
        expect(answers).toHaveLength(names.length);
        answers.forEach((answer, i) => {
          const found = answer.messageResponse;
          expect(found.case, names[i]).toBe("fileDescriptorResponse");
          const first = (found.value as v1.FileDescriptorResponse).fileDescriptorProto[0]!;
          expect(fromBinary(FileDescriptorProtoSchema, first).name, names[i]).toBe(name);
          expect(answer.originalRequest?.messageRequest.value).toBe(names[i]);
        });
        symbols += names.length;
        for (const extension of file.extension) {
          const extendee = extension.extendee.replace(/^\./, "");
          expect((await db.fileContainingExtension(extendee, extension.number)).name).toBe(name);
          expect(await db.extensionNumbers(extendee)).toContain(extension.number);
        }
      }
      expect(symbols).toBeGreaterThan(500);
      expect(await db.extensionNumbers("google.protobuf.FieldOptions")).toEqual(
        expect.arrayContaining([51102, 51104]),
      );
    } finally {
      db.close();
    }
  }, 60_000);

  it("answers NOT_FOUND for unknown names and keeps the stream open", async () => {
    const db = new ReflectionDatabase(gateway.address, api);
    try {
      await expect(db.fileByName("no/such/file.proto")).rejects.toBeInstanceOf(NotFound);
      await expect(db.fileByName("google/protobuf/duration")).rejects.toBeInstanceOf(NotFound);
      await expect(db.fileContainingSymbol("no.such.Symbol")).rejects.toBeInstanceOf(NotFound);
      await expect(db.fileContainingSymbol(`${KV}.NoSuchMethod`)).rejects.toBeInstanceOf(NotFound);
      await expect(db.fileContainingExtension("google.protobuf.FieldOptions", 1)).rejects.toBeInstanceOf(
        NotFound,
      );
      await expect(db.extensionNumbers("no.such.Type")).rejects.toBeInstanceOf(NotFound);

      const schema = api.ServerReflectionRequestSchema as typeof v1.ServerReflectionRequestSchema;
      const answers = await db.exchange([
        create(schema, { messageRequest: { case: "fileByFilename", value: "no/such/file.proto" } }),
        create(schema, {
          messageRequest: { case: "fileByFilename", value: "google/protobuf/duration.proto" },
        }),
      ]);
      expect(answers.map((a) => a.messageResponse.case)).toEqual(["errorResponse", "fileDescriptorResponse"]);
      expect((answers[0]!.messageResponse.value as v1.ErrorResponse).errorCode).toBe(NOT_FOUND);
    } finally {
      db.close();
    }
  });

  it("calls KeyValue Put and Get with messages built only from the reflected descriptors", async () => {
    const db = new ReflectionDatabase(gateway.address, api, true);
    const client = new Client(gateway.address, credentials.createInsecure());
    try {
      const registry = await db.registryFor(await db.fileContainingSymbol(KV));
      // Every import, down to the well-known types, came from file_by_filename.
      for (const name of db.knownFiles().filter((f) => f !== "prism/keyvalue/v1/keyvalue.proto")) {
        expect(db.sent).toContain(`fileByFilename:${name}`);
      }
      expect(db.sent).toContain("fileByFilename:google/protobuf/duration.proto");
      const service = registry.getService(KV)!;
      const method = (name: string) => service.methods.find((m) => m.name === name)!;
      const call = (name: string, request: JsonValue): Promise<JsonValue> => {
        const { input, output } = method(name);
        return new Promise((resolve, reject) =>
          client.makeUnaryRequest(
            `/${KV}/${name}`,
            (message: ReturnType<typeof fromJson<DescMessage>>) => Buffer.from(toBinary(input, message)),
            (bytes: Buffer) => fromBinary(output, bytes),
            fromJson(input, request, { registry }),
            (error: ServiceError | null, response?: ReturnType<typeof fromBinary<DescMessage>>) =>
              error ? reject(error) : resolve(toJson(output, response!, { registry })),
          ),
        );
      };
      const value = Buffer.from(`reflected ${api.ServerReflection.typeName}`).toString("base64");
      const id = `by-filename-${api.ServerReflection.typeName}`;
      await expect(call("Put", { namespace: "demo-kv", id, items: [{ key: "", value }] })).resolves.toEqual(
        {},
      );
      await expect(call("Get", { namespace: "demo-kv", id })).resolves.toEqual({ items: [{ value }] });
      await expect(call("Get", { namespace: "no-such-namespace", id })).rejects.toMatchObject({
        code: NOT_FOUND,
      });
    } finally {
      client.close();
      db.close();
    }
  });
});
