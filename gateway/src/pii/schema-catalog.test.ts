import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clone, create, type DescFile, toBinary } from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { file_acme_v1_user_profile } from "@prism/proto/acme/v1/user_profile";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { SqliteConfigStore } from "../config/sqlite-config-store.js";
import { MAX_SCHEMA_SET_BYTES, registerSchemaSet, SchemaCatalog } from "./schema-catalog.js";

const dir = mkdtempSync(join(tmpdir(), "prism-schemas-"));
let store: SqliteConfigStore;
let run = 0;

beforeEach(async () => {
  await store?.close();
  store = new SqliteConfigStore(join(dir, `config-${run++}.db`));
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The acme file and its imports, dependencies first (what protoc-gen-prism registers). */
function acmeFiles(edit?: (file: FileDescriptorProto) => void): FileDescriptorProto[] {
  const files: FileDescriptorProto[] = [];
  const visit = (file: DescFile): void => {
    if (files.some((seen) => seen.name === file.proto.name)) return;
    for (const dependency of file.dependencies) visit(dependency);
    files.push(clone(FileDescriptorProtoSchema, file.proto));
  };
  visit(file_acme_v1_user_profile);
  if (edit) edit(files.at(-1)!);
  return files;
}

const setOf = (files: FileDescriptorProto[]) =>
  toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: files }));
const ok = () => undefined;
const IN_USE = new Set(["acme.v1.UserProfile"]);
const profile = (file: FileDescriptorProto) => file.messageType.find((m) => m.name === "UserProfile")!;

describe("registerSchemaSet", () => {
  it("registers every file at version 1, and the same set again changes nothing", async () => {
    const first = await registerSchemaSet(store, setOf(acmeFiles()), IN_USE, ok);
    expect(first.files.map((file) => [file.name, file.version])).toEqual([
      ["google/protobuf/descriptor.proto", 1],
      ["google/protobuf/duration.proto", 1],
      ["prism/options/v1/options.proto", 1],
      ["acme/v1/user_profile.proto", 1],
    ]);
    expect(first.messageNames).toContain("acme.v1.UserProfile");
    expect(first.messageNames).toContain("acme.v1.Address");
    const generation = await store.generation();

    const again = await registerSchemaSet(store, setOf(acmeFiles()), IN_USE, ok);
    expect(again.files).toEqual(first.files);
    expect(await store.generation()).toBe(generation);

    const catalog = SchemaCatalog.of(await store.schemaFiles());
    expect(catalog.message("acme.v1.UserProfile")?.fields.map((f) => f.name)).toContain("ssn");
    expect(catalog.messageNames()).toContain("prism.options.v1.NamespaceModel");
  });

  it("makes a compatible change a new version of that file only", async () => {
    await registerSchemaSet(store, setOf(acmeFiles()), IN_USE, ok);
    const grown = acmeFiles((file) => {
      const nickname = clone(FileDescriptorProtoSchema, file).messageType[0]!.field[0]!;
      Object.assign(nickname, { name: "nickname", number: 20, jsonName: "nickname", options: undefined });
      profile(file).field.push(nickname);
    });
    const { files } = await registerSchemaSet(store, setOf(grown), IN_USE, ok);
    expect(files.map((file) => file.version)).toEqual([1, 1, 1, 2]);
    const catalog = SchemaCatalog.of(await store.schemaFiles());
    expect(catalog.message("acme.v1.UserProfile")?.field.nickname).toBeDefined();
  });

  it("refuses an incompatible change with what changed, and stores nothing", async () => {
    await registerSchemaSet(store, setOf(acmeFiles()), IN_USE, ok);
    const generation = await store.generation();
    const renamed = acmeFiles((file) => {
      profile(file).field.find((f) => f.name === "phone")!.name = "mobile";
    });
    await expect(registerSchemaSet(store, setOf(renamed), IN_USE, ok)).rejects.toMatchObject({
      kind: "FailedPrecondition",
      reason: "SCHEMA_INCOMPATIBLE",
      message: expect.stringContaining(
        "acme/v1/user_profile.proto: field acme.v1.UserProfile.phone (4) renamed to mobile",
      ),
    });
    const dropped = acmeFiles((file) => {
      file.messageType = file.messageType.filter((m) => m.name !== "UserProfile");
    });
    await expect(registerSchemaSet(store, setOf(dropped), IN_USE, ok)).rejects.toMatchObject({
      message: expect.stringContaining("message acme.v1.UserProfile removed, but a namespace uses it"),
    });
    expect(await store.generation()).toBe(generation);
    // Nobody uses it: removing the message is fine.
    const { files } = await registerSchemaSet(store, setOf(dropped), new Set(), ok);
    expect(files.at(-1)).toMatchObject({ name: "acme/v1/user_profile.proto", version: 2 });
  });

  it("refuses a change that a namespace using the message could not serve", async () => {
    await registerSchemaSet(store, setOf(acmeFiles()), IN_USE, ok);
    const grown = acmeFiles((file) => {
      file.messageType.find((m) => m.name === "Address")!.field[1]!.jsonName = "town";
    });
    await expect(
      registerSchemaSet(
        store,
        setOf(grown),
        IN_USE,
        (message) => `${message.typeName} cannot be served here`,
      ),
    ).rejects.toMatchObject({
      reason: "SCHEMA_INCOMPATIBLE",
      message: expect.stringContaining("cannot be served here"),
    });
  });

  it("refuses sets that are not valid, incomplete, too large or reuse Prism's envelope number", async () => {
    const refused = (bytes: Uint8Array, text: string) =>
      expect(registerSchemaSet(store, bytes, IN_USE, ok)).rejects.toMatchObject({
        kind: "InvalidArgument",
        reason: "INVALID_SCHEMA",
        message: expect.stringContaining(text),
      });
    await refused(new Uint8Array(0), "empty");
    await refused(new Uint8Array([0x0a, 0x05, 0x01]), "not a serialized");
    await refused(new Uint8Array(MAX_SCHEMA_SET_BYTES + 1), "at most");
    await refused(setOf(acmeFiles().slice(-1)), "options.proto");
    await refused(setOf([...acmeFiles(), acmeFiles().at(-1)!]), "appears twice");
    const envelope = acmeFiles((file) => {
      profile(file).field.find((f) => f.name === "country")!.number = 536_870_911;
    });
    await refused(setOf(envelope), "reserved by Prism");
    expect(await store.schemaFiles()).toEqual([]);
  });
});
