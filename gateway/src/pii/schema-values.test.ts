import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import {
  create,
  createFileRegistry,
  type DescFile,
  type DescMessage,
  fromBinary,
  type Message,
  setExtension,
  toBinary,
} from "@bufbuild/protobuf";
import {
  DurationSchema,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
} from "@bufbuild/protobuf/wkt";
import { type UserProfile, UserProfileSchema } from "@prism/proto/acme/v1/user_profile";
import {
  encrypt,
  file_prism_options_v1_options,
  MaskStyle,
  mask,
  PiiKind,
  pii,
} from "@prism/proto/prism/options/v1/options";
import { beforeEach, describe, expect, it } from "vitest";
import { ANONYMOUS } from "../context.js";
import type { AuditRecord, FieldCipher, ValueCall } from "./contract.js";
import { planMessage } from "./field-plan.js";
import { resealStored, schemaValuePolicy } from "./schema-values.js";

/**
 * AES-256-GCM under one key, with the namespace as additional data: a stand-in for the keyring's
 * cipher (its own tests cover it), enough to check what the policy seals and opens.
 */
class TestCipher implements FieldCipher {
  private readonly key = randomBytes(32);
  async seal(namespace: string, plaintext: Uint8Array): Promise<Uint8Array> {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv).setAAD(Buffer.from(namespace));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }
  async open(namespace: string, sealed: Uint8Array): Promise<Uint8Array> {
    const bytes = Buffer.from(sealed);
    const decipher = createDecipheriv("aes-256-gcm", this.key, bytes.subarray(0, 12)).setAAD(
      Buffer.from(namespace),
    );
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
  }
  keyIdOf(_sealed?: Uint8Array): string {
    return "test";
  }
  async currentKeyId(_namespace?: string): Promise<string> {
    return "test";
  }
}

const HASH_KEY = new Uint8Array(32).fill(3);
const records: AuditRecord[] = [];
const sink = { append: async (record: AuditRecord) => void records.push(record) };
const cipher = new TestCipher();
const policy = schemaValuePolicy(UserProfileSchema, { cipher, audit: sink, hashKey: HASH_KEY })!;

const call = (piiClear: boolean, namespace = "user-profiles"): ValueCall => ({
  namespace,
  principal: { subject: "jane", groups: [] },
  piiClear,
  signal: new AbortController().signal,
});

const ada = (): UserProfile =>
  create(UserProfileSchema, {
    userId: "u-1",
    email: "ada@example.com",
    displayName: "Ada Lovelace",
    phone: "+44 20 7946 0018",
    ssn: "078-05-1120",
    address: { street: "12 St James's Square", city: "London", postalCode: "SW1Y 4JH" },
    country: "GB",
    createdAtMs: 1_700_000_000_123n,
  });

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");

beforeEach(() => {
  records.length = 0;
});

describe("schemaValuePolicy on acme.v1.UserProfile", () => {
  it("seals encrypt fields at rest: the stored value is still a UserProfile, without phone or ssn", async () => {
    const stored = await policy.toStorage("u-1", toBinary(UserProfileSchema, ada()), call(true));
    expect(text(stored)).not.toContain("7946");
    expect(text(stored)).not.toContain("078-05-1120");
    expect(text(stored)).toContain("ada@example.com"); // not an encrypt field
    const asStored = fromBinary(UserProfileSchema, stored);
    expect(asStored).toMatchObject({ phone: "", ssn: "", email: "ada@example.com", country: "GB" });
  });

  it("gives pii readers the value back whole, and everyone else the masked value in the same shape", async () => {
    const stored = await policy.toStorage("u-1", toBinary(UserProfileSchema, ada()), call(true));
    const clear = fromBinary(UserProfileSchema, await policy.fromStorage("u-1", stored, call(true)));
    expect(clear).toEqual(ada());

    const masked = fromBinary(UserProfileSchema, await policy.fromStorage("u-1", stored, call(false)));
    expect(masked).toEqual(
      create(UserProfileSchema, {
        userId: "u-1",
        email: "a***@example.com",
        displayName: "A*** L***",
        phone: "***-***-0018",
        ssn: "***",
        address: { street: "*** Square", city: "London", postalCode: "*** 4JH" },
        country: "GB",
        createdAtMs: 1_700_000_000_123n,
      }),
    );
  });

  it("audits writes and reads of audit fields (email, ssn) with who, namespace, id and field paths", async () => {
    const stored = await policy.toStorage("u-1", toBinary(UserProfileSchema, ada()), call(true));
    await policy.fromStorage("u-1", stored, call(false));
    expect(records).toEqual([
      {
        principal: "user:jane",
        namespace: "user-profiles",
        id: "u-1",
        fields: ["email", "ssn"],
        operation: "write",
      },
      {
        principal: "user:jane",
        namespace: "user-profiles",
        id: "u-1",
        fields: ["email", "ssn"],
        operation: "read",
      },
    ]);
    records.length = 0;
    const plain = await policy.toStorage(
      "u-2",
      toBinary(UserProfileSchema, { ...ada(), email: "", ssn: "" }),
      {
        ...call(true),
        principal: ANONYMOUS,
      },
    );
    await policy.fromStorage("u-2", plain, call(true));
    expect(records).toEqual([]);
  });

  it("refuses a value that is not a UserProfile", async () => {
    const garbage = new Uint8Array([0x0a, 0xff, 0xff]);
    await expect(policy.toStorage("u-1", garbage, call(true))).rejects.toMatchObject({
      kind: "InvalidArgument",
      reason: "VALUE_SCHEMA_MISMATCH",
    });
  });

  it("reads values stored before the schema was set: as stored for pii readers, masked for others", async () => {
    const plain = toBinary(UserProfileSchema, ada());
    expect(await policy.fromStorage("u-1", plain, call(true))).toBe(plain);
    const masked = fromBinary(UserProfileSchema, await policy.fromStorage("u-1", plain, call(false)));
    expect(masked.phone).toBe("***-***-0018");
    // Something that never was a UserProfile: nothing of it reaches a masked reader.
    const odd = new Uint8Array([0xff, 0x01]);
    expect(await policy.fromStorage("u-1", odd, call(true))).toBe(odd);
    expect(await policy.fromStorage("u-1", odd, call(false))).toEqual(new Uint8Array(0));
  });

  it("never opens a sealed part under another id or namespace, and ignores an envelope a client sends", async () => {
    const stored = await policy.toStorage("u-1", toBinary(UserProfileSchema, ada()), call(true));
    await expect(policy.fromStorage("u-2", stored, call(true))).rejects.toMatchObject({
      reason: "CORRUPT_VALUE",
    });
    await expect(policy.fromStorage("u-1", stored, call(true, "other-ns"))).rejects.toThrow();
    // A client replays u-1's stored bytes as the value of u-2: the envelope is dropped, not opened.
    const replayed = await policy.toStorage("u-2", stored, call(true));
    const read = fromBinary(UserProfileSchema, await policy.fromStorage("u-2", replayed, call(true)));
    expect(read).toMatchObject({ phone: "", ssn: "", email: "ada@example.com" });
  });

  it("stores a value with no encrypt field set unsealed, and refuses to seal without a cipher", async () => {
    const value = toBinary(UserProfileSchema, { ...ada(), phone: "", ssn: "" });
    expect(await policy.toStorage("u-1", value, call(true))).toEqual(value);
    const noCipher = schemaValuePolicy(UserProfileSchema, { hashKey: HASH_KEY })!;
    await expect(
      noCipher.toStorage("u-1", toBinary(UserProfileSchema, ada()), call(true)),
    ).rejects.toMatchObject({
      reason: "SCHEMA_UNAVAILABLE",
    });
  });

  it("is undefined for a message without annotations (nothing to pay for)", () => {
    expect(schemaValuePolicy(DurationSchema, { hashKey: HASH_KEY })).toBeUndefined();
  });

  it("costs a few microseconds per call for a small message (reported, not asserted)", async () => {
    const value = toBinary(UserProfileSchema, ada());
    const quiet = schemaValuePolicy(UserProfileSchema, { cipher, hashKey: HASH_KEY })!;
    const stored = await quiet.toStorage("u-1", value, call(true));
    const plain = toBinary(UserProfileSchema, { ...ada(), phone: "", ssn: "" });
    const rounds = 2000;
    const clearCall = call(true);
    const maskedCall = call(false);
    const time = async (label: string, work: () => Promise<unknown>) => {
      for (let i = 0; i < 200; i++) await work();
      const start = process.hrtime.bigint();
      for (let i = 0; i < rounds; i++) await work();
      const us = Number(process.hrtime.bigint() - start) / 1000 / rounds;
      console.log(`schema-values ${label}: ${us.toFixed(1)} µs/call (${value.length} B UserProfile)`);
    };
    await time("toStorage (decode, seal 2 fields)", () => quiet.toStorage("u-1", value, clearCall));
    await time("fromStorage pii reader (open)", () => quiet.fromStorage("u-1", stored, clearCall));
    await time("fromStorage masked (open, decode, mask, encode)", () =>
      quiet.fromStorage("u-1", stored, maskedCall),
    );
    await time("fromStorage pii reader, nothing sealed (no decode)", () =>
      quiet.fromStorage("u-1", plain, clearCall),
    );
    await time("baseline: an empty async call", async () => clearCall);
    expect(await quiet.fromStorage("u-1", plain, call(true))).toBe(plain);
  });
});

describe("resealStored", () => {
  /** The test cipher under a key id that can move: the id is the first byte of what it seals. */
  class RotatingCipher extends TestCipher {
    current = 1;
    override async seal(namespace: string, plaintext: Uint8Array): Promise<Uint8Array> {
      return Buffer.concat([Buffer.from([this.current]), await super.seal(namespace, plaintext)]);
    }
    override async open(namespace: string, sealed: Uint8Array): Promise<Uint8Array> {
      return super.open(namespace, sealed.subarray(1));
    }
    override keyIdOf(sealed?: Uint8Array): string {
      return `k${sealed![0]}`;
    }
    override async currentKeyId(): Promise<string> {
      return `k${this.current}`;
    }
  }

  it("moves a stored value's sealed part to the current key, once, and leaves plain values alone", async () => {
    const rotating = new RotatingCipher();
    const sealing = schemaValuePolicy(UserProfileSchema, { cipher: rotating, hashKey: HASH_KEY })!;
    const stored = await sealing.toStorage("u-1", toBinary(UserProfileSchema, ada()), call(true));
    expect(await resealStored(rotating, "user-profiles", stored)).toBeUndefined();
    rotating.current = 2;
    const moved = (await resealStored(rotating, "user-profiles", stored))!;
    expect(moved).toBeDefined();
    expect(text(moved)).not.toContain("078-05-1120");
    expect(fromBinary(UserProfileSchema, await sealing.fromStorage("u-1", moved, call(true)))).toEqual(ada());
    expect(await resealStored(rotating, "user-profiles", moved)).toBeUndefined();
    expect(await resealStored(rotating, "user-profiles", toBinary(UserProfileSchema, ada()))).toBeUndefined();
  });
});

describe("schemaValuePolicy masking inside repeated fields, maps and nested messages", () => {
  const contact = contactSchema();
  const contactPolicy = schemaValuePolicy(contact, { hashKey: HASH_KEY })!;

  it("masks every element, map value and nested field, and clears non-string PII", async () => {
    const value = create(contact, {
      emails: ["ann@example.com", "bo@example.org"],
      notes: { monday: "called about her divorce", tuesday: "" },
      homes: [{ street: "1 Elm Street", city: "Paris" }],
      byName: { main: { street: "2 Oak Road", city: "Rome" } },
      photo: new Uint8Array([1, 2, 3]),
      salary: 120_000n,
      secret: { street: "3 Pine Way", city: "Oslo" },
      tags: ["vip"],
    } as never);
    const out = await contactPolicy.fromStorage("c", toBinary(contact, value), call(false));
    const masked = fromBinary(contact, out) as Message & Record<string, unknown>;
    expect(masked.emails).toEqual(["a***@example.com", "b***@example.org"]);
    expect(masked.notes).toEqual({ monday: "***", tuesday: "" });
    expect(masked.homes).toMatchObject([{ street: "*** Street", city: "Paris" }]);
    expect(masked.byName).toMatchObject({ main: { street: "*** Road", city: "Rome" } });
    expect(masked.photo).toEqual(new Uint8Array(0));
    expect(masked.salary).toBe(0n);
    // A pii message field: every field inside is masked with the outer kind and style.
    const secret = masked.secret as Record<string, string>;
    expect(secret.street).toMatch(/^hash:[0-9a-f]{24}$/);
    expect(secret.city).toMatch(/^hash:[0-9a-f]{24}$/);
    expect(masked.tags).toEqual(["vip"]);
    expect(await contactPolicy.fromStorage("c", toBinary(contact, value), call(true))).toEqual(
      toBinary(contact, value),
    );
  });

  it("seals an encrypt field inside a singular nested message, split on the wire", async () => {
    const nested = contactSchema({ encryptInsideList: true, placeOnlyInSecret: true });
    const sealing = schemaValuePolicy(nested, { cipher, hashKey: HASH_KEY })!;
    const value = toBinary(
      nested,
      create(nested, { secret: { street: "3 Pine Way", city: "Oslo" }, tags: ["t"] } as never),
    );
    const stored = await sealing.toStorage("c", value, call(true));
    expect(text(stored)).not.toContain("Pine");
    expect(text(stored)).toContain("Oslo");
    const clear = await sealing.fromStorage("c", stored, call(true));
    expect(fromBinary(nested, clear)).toEqual(fromBinary(nested, value));
    const masked = fromBinary(nested, await sealing.fromStorage("c", stored, call(false))) as Message &
      Record<string, Record<string, string>>;
    expect(masked.secret!.street).toMatch(/^hash:/);
  });

  it("refuses encrypt inside repeated elements, and the envelope's field number", () => {
    expect(() => planMessage(contactSchema({ encryptInsideList: true }))).toThrow(/inside repeated or map/);
    expect(() => planMessage(contactSchema({ envelopeNumber: true }))).toThrow(/536870911/);
  });
});

/**
 * `test.Contact` built at run time (as a registered schema is): repeated, map and nested PII.
 * `Place.street` is PII (address); `secret` is a whole `Place` annotated PII with HASH masks.
 */
function contactSchema(
  options: { encryptInsideList?: boolean; envelopeNumber?: boolean; placeOnlyInSecret?: boolean } = {},
): DescMessage {
  const field = (
    name: string,
    number: number,
    type: Type,
    extra: { label?: Label; typeName?: string } = {},
    annotate?: { kind?: PiiKind; style?: MaskStyle; encrypt?: boolean },
  ) => {
    const fieldOptions = create(FieldOptionsSchema);
    if (annotate?.kind) setExtension(fieldOptions, pii, annotate.kind);
    if (annotate?.style) setExtension(fieldOptions, mask, annotate.style);
    if (annotate?.encrypt) setExtension(fieldOptions, encrypt, true);
    return create(FieldDescriptorProtoSchema, {
      name,
      number,
      type,
      label: Label.OPTIONAL,
      jsonName: name,
      ...(annotate && { options: fieldOptions }),
      ...extra,
    });
  };
  const entry = (name: string, valueType: Type, typeName = "") => ({
    name,
    field: [field("key", 1, Type.STRING), field("value", 2, valueType, typeName ? { typeName } : {})],
    options: { mapEntry: true },
  });
  const file = create(FileDescriptorProtoSchema, {
    name: "test/contact.proto",
    package: "test",
    syntax: "proto3",
    dependency: ["prism/options/v1/options.proto"],
    messageType: [
      {
        name: "Place",
        field: [
          field("street", 1, Type.STRING, {}, { kind: PiiKind.ADDRESS, encrypt: options.encryptInsideList }),
          field("city", 2, Type.STRING),
        ],
      },
      {
        name: "Contact",
        field: [
          field("emails", 1, Type.STRING, { label: Label.REPEATED }, { kind: PiiKind.EMAIL }),
          field(
            "notes",
            2,
            Type.MESSAGE,
            { label: Label.REPEATED, typeName: ".test.Contact.NotesEntry" },
            { kind: PiiKind.FREE_TEXT },
          ),
          field("homes", 3, Type.MESSAGE, { label: Label.REPEATED, typeName: ".test.Place" }),
          field("by_name", 4, Type.MESSAGE, { label: Label.REPEATED, typeName: ".test.Contact.ByNameEntry" }),
          field("photo", 5, Type.BYTES, {}, { kind: PiiKind.NAME }),
          field("salary", 6, Type.INT64, {}, { kind: PiiKind.FREE_TEXT }),
          field(
            "secret",
            7,
            Type.MESSAGE,
            { typeName: ".test.Place" },
            { kind: PiiKind.ADDRESS, style: MaskStyle.HASH },
          ),
          field("tags", options.envelopeNumber ? 536_870_911 : 8, Type.STRING, { label: Label.REPEATED }),
        ],
        nestedType: [entry("NotesEntry", Type.STRING), entry("ByNameEntry", Type.MESSAGE, ".test.Place")],
      },
    ],
  });
  if (options.placeOnlyInSecret) {
    const contact = file.messageType[1]!;
    contact.field = contact.field.filter((f) => f.name !== "homes" && f.name !== "by_name");
    contact.nestedType = contact.nestedType.filter((m) => m.name !== "ByNameEntry");
  }
  const imports: Record<string, DescFile> = {
    "prism/options/v1/options.proto": file_prism_options_v1_options,
  };
  const registry = createFileRegistry(
    file,
    (name) => imports[name] ?? file_prism_options_v1_options.dependencies.find((d) => d.proto.name === name),
  );
  return registry.getMessage("test.Contact")!;
}
