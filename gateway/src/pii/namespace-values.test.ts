import { UserProfileSchema } from "@prism/proto/acme/v1/user_profile";
import { describe, expect, it } from "vitest";
import type { FieldCipher } from "./contract.js";
import { piiClear, resealerOf } from "./namespace-values.js";
import { schemaValuePolicy } from "./schema-values.js";

const jane = { subject: "jane", groups: ["support"] };
const hashKey = new Uint8Array(32);

describe("piiClear", () => {
  it("is an explicit grant: listed user, service or group only; masked without access lists", () => {
    expect(piiClear({}, jane)).toBe(false);
    expect(piiClear({ access: { read: ["user:jane"], write: [], pii: [] } }, jane)).toBe(false);
    expect(piiClear({ access: { read: [], write: [], pii: ["user:jane"] } }, jane)).toBe(true);
    expect(piiClear({ access: { read: [], write: [], pii: ["service:jane"] } }, jane)).toBe(true);
    expect(piiClear({ access: { read: [], write: [], pii: ["group:support"] } }, jane)).toBe(true);
    expect(piiClear({ access: { read: [], write: [], pii: ["group:jane", "user:support"] } }, jane)).toBe(
      false,
    );
  });
});

describe("resealerOf", () => {
  const cipher = {} as FieldCipher; // never called: only whether a resealer exists is checked here
  const sealing = schemaValuePolicy(UserProfileSchema, { cipher, hashKey });

  it("gives a resealer only for KeyValue namespaces whose schema seals fields, with a cipher", () => {
    const kv = { spec: { name: "p", pattern: "keyvalue" as const }, values: sealing };
    expect(resealerOf(cipher)(kv)).toBeTypeOf("function");
    expect(resealerOf(undefined)(kv)).toBeUndefined();
    expect(resealerOf(cipher)({ ...kv, values: undefined })).toBeUndefined();
    expect(resealerOf(cipher)({ ...kv, spec: { name: "p", pattern: "timeseries" } })).toBeUndefined();
  });
});
