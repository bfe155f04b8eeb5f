import { clone, createFileRegistry, type DescFile } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { file_acme_v1_user_profile } from "@prism/proto/acme/v1/user_profile";
import { describe, expect, it } from "vitest";
import { schemaChanges } from "./schema-compat.js";

/** The acme file's imports, by name (as the resolver of `createFileRegistry` wants them). */
const imports = new Map<string, DescFile>();
const visit = (file: DescFile): void => {
  for (const dependency of file.dependencies) visit(dependency);
  imports.set(file.proto.name, file);
};
visit(file_acme_v1_user_profile);
const IN_USE = new Set(["acme.v1.UserProfile"]);

/** The acme file changed by `edit`, built against its real imports. */
function edited(edit: (file: FileDescriptorProto) => void): DescFile {
  const proto = clone(FileDescriptorProtoSchema, file_acme_v1_user_profile.proto);
  edit(proto);
  return createFileRegistry(proto, (name) => imports.get(name)).getFile(proto.name)!;
}

function registryOf(file: DescFile) {
  return createFileRegistry(file.proto, (name) => imports.get(name));
}

function changes(after: DescFile, inUse: ReadonlySet<string> = IN_USE): string[] {
  const registry = registryOf(after);
  return schemaChanges(file_acme_v1_user_profile, (name) => registry.getMessage(name), inUse);
}

const profile = (file: FileDescriptorProto) => file.messageType.find((m) => m.name === "UserProfile")!;
const field = (file: FileDescriptorProto, name: string) => profile(file).field.find((f) => f.name === name)!;

describe("schemaChanges", () => {
  it("finds nothing in the same file, or with a new field, message or option", () => {
    expect(changes(file_acme_v1_user_profile)).toEqual([]);
    const grown = edited((file) => {
      const extra = clone(FileDescriptorProtoSchema, file).messageType[1]!;
      extra.name = "Extra";
      file.messageType.push(extra);
      const nickname = clone(FileDescriptorProtoSchema, file).messageType[0]!.field[2]!;
      nickname.name = "nickname";
      nickname.number = 9;
      nickname.jsonName = "nickname";
      profile(file).field.push(nickname);
      field(file, "email").options = undefined;
    });
    expect(changes(grown)).toEqual([]);
  });

  it("refuses a field number reused with another name", () => {
    const renamed = edited((file) => {
      field(file, "phone").name = "mobile";
    });
    expect(changes(renamed)).toEqual(["field acme.v1.UserProfile.phone (4) renamed to mobile"]);
  });

  it("refuses a type change, including singular to repeated and to another message", () => {
    const retyped = edited((file) => {
      field(file, "created_at_ms").type = FieldDescriptorProto_Type.STRING;
      field(file, "country").label = FieldDescriptorProto_Label.REPEATED;
      field(file, "address").typeName = ".acme.v1.UserProfile";
    });
    expect(changes(retyped)).toEqual([
      "field acme.v1.UserProfile.address (6) changed from acme.v1.Address to acme.v1.UserProfile",
      "field acme.v1.UserProfile.country (7) changed from string to repeated string",
      "field acme.v1.UserProfile.created_at_ms (8) changed from int64 to string",
    ]);
  });

  it("refuses a removed field unless its number is reserved", () => {
    const removed = edited((file) => {
      profile(file).field = profile(file).field.filter((f) => f.name !== "ssn");
    });
    expect(changes(removed)).toEqual([
      "field acme.v1.UserProfile.ssn (5) removed without reserving its number",
    ]);
    const reserved = edited((file) => {
      profile(file).field = profile(file).field.filter((f) => f.name !== "ssn");
      profile(file).reservedRange.push({
        $typeName: "google.protobuf.DescriptorProto.ReservedRange",
        start: 5,
        end: 6,
      });
      profile(file).reservedName.push("ssn");
    });
    expect(changes(reserved)).toEqual([]);
  });

  it("refuses a field taking a number or name reserved before", () => {
    const reserved = edited((file) => {
      profile(file).field = profile(file).field.filter((f) => f.name !== "ssn");
      profile(file).reservedRange.push({
        $typeName: "google.protobuf.DescriptorProto.ReservedRange",
        start: 5,
        end: 6,
      });
      profile(file).reservedName.push("ssn");
    });
    const reused = edited((file) => {
      field(file, "ssn").name = "tax_id";
    });
    const after = registryOf(reused);
    expect(schemaChanges(reserved, (name) => after.getMessage(name), IN_USE)).toEqual([
      "field acme.v1.UserProfile.tax_id takes number 5, reserved before",
    ]);
    const renamedBack = edited((file) => {
      field(file, "ssn").number = 10;
    });
    const back = registryOf(renamedBack);
    expect(schemaChanges(reserved, (name) => back.getMessage(name), IN_USE)).toEqual([
      "field acme.v1.UserProfile.ssn takes a name reserved before",
    ]);
  });

  it("refuses removing a message a namespace uses, allows removing one nobody uses", () => {
    const withoutProfile = edited((file) => {
      file.messageType = file.messageType.filter((m) => m.name !== "UserProfile");
    });
    expect(changes(withoutProfile)).toEqual(["message acme.v1.UserProfile removed, but a namespace uses it"]);
    expect(changes(withoutProfile, new Set())).toEqual([]);
  });
});
