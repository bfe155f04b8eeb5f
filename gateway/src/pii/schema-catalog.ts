import {
  create,
  createFileRegistry,
  type DescFile,
  type DescMessage,
  type FileRegistry,
  fromBinary,
  toBinary,
} from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { PrismError } from "@prism/core";
import type { ConfigStore, NewSchemaFile, StoredSchemaFile } from "../config/config-store.js";
import { planMessage } from "./field-plan.js";
import { messagesOf, schemaChanges } from "./schema-compat.js";

/** The largest FileDescriptorSet RegisterSchema accepts, serialized. */
export const MAX_SCHEMA_SET_BYTES = 4 << 20;
/** The most files one RegisterSchema may carry. */
export const MAX_SCHEMA_FILES = 256;
/** Problems listed in one refusal, at most. */
const MAX_PROBLEMS = 20;

/** One file of a registration's answer. */
export interface RegisteredFile {
  name: string;
  version: number;
  /** Epoch ms of the version's registration. */
  registeredAt: number;
}

/**
 * The registered schemas as one immutable registry: the newest version of every file, resolved
 * together. The namespace registry builds one per change of the stored files and looks each
 * namespace's `schema:` up in it.
 *
 * @example const catalog = SchemaCatalog.of(await store.schemaFiles()); catalog.message("acme.v1.UserProfile")
 */
export class SchemaCatalog {
  static readonly EMPTY = new SchemaCatalog([], undefined, undefined);

  private constructor(
    readonly files: readonly StoredSchemaFile[],
    private readonly registry: FileRegistry | undefined,
    /** Why the stored files do not resolve together (then no message is found). */
    readonly problem: string | undefined,
  ) {}

  /** Resolves the stored files; files that do not resolve leave an empty catalog with a problem. */
  static of(files: readonly StoredSchemaFile[]): SchemaCatalog {
    if (files.length === 0) return SchemaCatalog.EMPTY;
    try {
      return new SchemaCatalog(
        files,
        resolveAll(files.map((file) => decodeFile(file.descriptor))),
        undefined,
      );
    } catch (error) {
      return new SchemaCatalog(files, undefined, (error as Error).message);
    }
  }

  /** `name@version,…`: equal keys, equal catalogs (so a reload rebuilds only on change). */
  get key(): string {
    return SchemaCatalog.keyOf(this.files);
  }

  static keyOf(files: readonly Pick<StoredSchemaFile, "name" | "version">[]): string {
    return files.map((file) => `${file.name}@${file.version}`).join(",");
  }

  file(name: string): DescFile | undefined {
    return this.registry?.getFile(name);
  }

  message(typeName: string): DescMessage | undefined {
    return this.registry?.getMessage(typeName);
  }

  /** Every message type name of the catalog, sorted. */
  messageNames(): string[] {
    const names: string[] = [];
    for (const file of this.files) {
      const desc = this.registry?.getFile(file.name);
      if (desc) names.push(...messagesOf(desc).map((message) => message.typeName));
    }
    return names.sort();
  }
}

/**
 * Registers a serialized FileDescriptorSet: each file that differs from its newest stored version
 * (comments ignored) becomes a new version after the compatibility check; identical files keep
 * their version; new files get version 1. All or nothing. `inUse` names the messages namespaces
 * use (they must survive); `servable(message)` returns why a used message cannot be served after
 * the change (e.g. it gained `encrypt` fields and there is no keyring), if it cannot.
 *
 * @example const { files } = await registerSchemaSet(store, bytes, new Set(["acme.v1.UserProfile"]), () => undefined)
 */
export async function registerSchemaSet(
  store: ConfigStore,
  setBytes: Uint8Array,
  inUse: ReadonlySet<string>,
  servable: (message: DescMessage) => string | undefined,
): Promise<{ files: RegisteredFile[]; messageNames: string[] }> {
  const incoming = parseSet(setBytes);
  const stored = await store.schemaFiles();
  const before = SchemaCatalog.of(stored);
  const storedByName = new Map(stored.map((file) => [file.name, file]));

  const added: NewSchemaFile[] = [];
  const answer: RegisteredFile[] = [];
  for (const proto of incoming) {
    const descriptor = toBinary(FileDescriptorProtoSchema, proto);
    const previous = storedByName.get(proto.name);
    if (previous && equalBytes(previous.descriptor, descriptor)) {
      answer.push({ name: proto.name, version: previous.version, registeredAt: previous.registeredAt });
      continue;
    }
    const version = (previous?.version ?? 0) + 1;
    added.push({ name: proto.name, version, descriptor });
    answer.push({ name: proto.name, version, registeredAt: 0 });
  }

  // The newest stored files with this set's in their place must resolve and be compatible.
  const addedNames = new Set(added.map((file) => file.name));
  const merged = [
    ...stored.filter((file) => !addedNames.has(file.name)).map((file) => decodeFile(file.descriptor)),
    ...incoming.filter((proto) => addedNames.has(proto.name)),
  ];
  let after: FileRegistry;
  try {
    after = resolveAll(merged);
  } catch (error) {
    throw invalid(`with the files already registered: ${(error as Error).message}`);
  }
  const problems: string[] = [];
  for (const name of addedNames) {
    // The old version, resolved with the other stored files.
    const old = before.file(name);
    if (old) {
      for (const problem of schemaChanges(old, (typeName) => after.getMessage(typeName), inUse)) {
        problems.push(`${name}: ${problem}`);
      }
    }
    for (const message of messagesOf(after.getFile(name)!)) {
      try {
        planMessage(message);
      } catch (error) {
        throw invalid((error as Error).message);
      }
    }
  }
  for (const typeName of inUse) {
    const message = after.getMessage(typeName);
    const problem = message && addedNames.has(message.file.proto.name) ? servable(message) : undefined;
    if (problem) problems.push(`${typeName}: ${problem}`);
  }
  if (problems.length > 0) {
    throw new PrismError(
      "FailedPrecondition",
      `incompatible schema change: ${problems.slice(0, MAX_PROBLEMS).join("; ")}`,
      { reason: "SCHEMA_INCOMPATIBLE" },
    );
  }

  if (added.length > 0) {
    const registeredAt = await store.addSchemaFiles(added);
    for (const file of answer) if (file.registeredAt === 0) file.registeredAt = registeredAt;
  }
  const messageNames = incoming
    .flatMap((proto) => messagesOf(after.getFile(proto.name)!).map((message) => message.typeName))
    .sort();
  return { files: answer, messageNames };
}

/** Decodes and bounds a RegisterSchema request's set; comments (source info) are dropped. */
function parseSet(bytes: Uint8Array): FileDescriptorProto[] {
  if (bytes.length === 0) throw invalid("file_descriptor_set is empty");
  if (bytes.length > MAX_SCHEMA_SET_BYTES)
    throw invalid(`file_descriptor_set: at most ${MAX_SCHEMA_SET_BYTES} bytes`);
  let files: FileDescriptorProto[];
  try {
    files = fromBinary(FileDescriptorSetSchema, bytes).file;
  } catch {
    throw invalid("file_descriptor_set is not a serialized google.protobuf.FileDescriptorSet");
  }
  if (files.length === 0 || files.length > MAX_SCHEMA_FILES) {
    throw invalid(`file_descriptor_set: 1 to ${MAX_SCHEMA_FILES} files`);
  }
  const names = new Set<string>();
  for (const file of files) {
    if (!/^[A-Za-z0-9_./-]{1,300}\.proto$/.test(file.name) || file.name.includes("..")) {
      throw invalid(`file name ${JSON.stringify(file.name.slice(0, 100))} is not a .proto path`);
    }
    if (names.has(file.name)) throw invalid(`file ${file.name} appears twice`);
    names.add(file.name);
    file.sourceCodeInfo = undefined;
  }
  try {
    resolveAll(files);
  } catch (error) {
    throw invalid((error as Error).message);
  }
  return files;
}

/** One registry of `files`, whatever their order (a set resolves its imports front to back). */
function resolveAll(files: readonly FileDescriptorProto[]): FileRegistry {
  const byName = new Map(files.map((file) => [file.name, file]));
  const ordered: FileDescriptorProto[] = [];
  const placed = new Set<string>();
  const place = (file: FileDescriptorProto) => {
    if (placed.has(file.name)) return;
    placed.add(file.name);
    for (const dependency of file.dependency) {
      const imported = byName.get(dependency);
      if (imported) place(imported);
    }
    ordered.push(file);
  };
  for (const file of files) place(file);
  return createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
}

function decodeFile(bytes: Uint8Array): FileDescriptorProto {
  return fromBinary(FileDescriptorProtoSchema, bytes);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

function invalid(message: string): PrismError {
  return new PrismError("InvalidArgument", `invalid schema: ${message.slice(0, 500)}`, {
    reason: "INVALID_SCHEMA",
    field: "file_descriptor_set",
  });
}
