// The committed generated code for the example model, exercised against in-memory stand-ins of the
// gateway's KeyValue and Admin clients (the end-to-end test runs it against a real gateway).
import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { UserProfileSchema } from "@prism/proto/acme/v1/user_profile";
import {
  registerUserProfileSchema,
  UserProfiles,
  userProfileSchemaRegistration,
} from "@prism/proto/acme/v1/user_profile_prism";
import type { PromiseClient } from "@prism/proto/grpc";
import { RegisterSchemaRequestSchema, RegisterSchemaResponseSchema } from "@prism/proto/prism/admin/v1/admin";
import {
  type DeleteRequest,
  DeleteRequestSchema,
  DeleteResponseSchema,
  type GetRequest,
  GetRequestSchema,
  GetResponseSchema,
  type KeyValueService,
  type PutRequest,
  PutRequestSchema,
  PutResponseSchema,
} from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { model } from "@prism/proto/prism/options/v1/options";
import { describe, expect, it } from "vitest";

type KeyValueCalls = Pick<PromiseClient<(typeof KeyValueService)["method"]>, "get" | "put" | "delete">;

/** Records requests and keeps the items put, like a gateway would for one namespace. */
function fakeKeyValue() {
  const records = new Map<string, Uint8Array>();
  const requests: { put: PutRequest[]; get: GetRequest[]; delete: DeleteRequest[] } = {
    put: [],
    get: [],
    delete: [],
  };
  const kv: KeyValueCalls = {
    put: async (request) => {
      const message = create(PutRequestSchema, request);
      requests.put.push(message);
      for (const item of message.items) records.set(`${message.namespace}/${message.id}`, item.value);
      return create(PutResponseSchema);
    },
    get: async (request) => {
      const message = create(GetRequestSchema, request);
      requests.get.push(message);
      const value = records.get(`${message.namespace}/${message.id}`);
      return create(GetResponseSchema, { items: value ? [{ key: new Uint8Array(), value }] : [] });
    },
    delete: async (request) => {
      const message = create(DeleteRequestSchema, request);
      requests.delete.push(message);
      records.delete(`${message.namespace}/${message.id}`);
      return create(DeleteResponseSchema);
    },
  };
  return { kv, requests };
}

describe("generated UserProfiles", () => {
  it("puts, gets and deletes whole messages under the empty key", async () => {
    const { kv, requests } = fakeKeyValue();
    const profiles = new UserProfiles(kv);
    expect(profiles.namespace).toBe("user-profiles");
    await profiles.put("u1", { userId: "u1", email: "jane@example.com", address: { city: "Oslo" } });
    const profile = await profiles.get("u1");
    expect(profile?.email).toBe("jane@example.com");
    expect(profile?.address?.city).toBe("Oslo");
    const put = requests.put[0]!;
    expect(put.namespace).toBe("user-profiles");
    expect(put.items).toHaveLength(1);
    expect(put.items[0]!.key).toEqual(new Uint8Array());
    expect(fromBinary(UserProfileSchema, put.items[0]!.value).userId).toBe("u1");
    expect(requests.get[0]!.predicate).toMatchObject({ case: "keys", value: { keys: [new Uint8Array()] } });
    await profiles.delete("u1");
    expect(requests.delete[0]!.predicate.case).toBeUndefined();
    expect(await profiles.get("u1")).toBeUndefined();
    profiles.close(); // a shared client stays usable
    expect(await profiles.get("u1")).toBeUndefined();
  });

  it("sends a fresh idempotency token with every mutation, or the caller's", async () => {
    const { kv, requests } = fakeKeyValue();
    const profiles = new UserProfiles(kv, { namespace: "test-profiles" });
    const before = BigInt(Math.floor(Date.now() / 1000));
    await profiles.put("u1", {});
    await profiles.put("u1", {});
    await profiles.delete("u1", { idempotencyToken: "retry-1" });
    const [first, second] = requests.put.map((request) => request.idempotencyToken);
    expect(first?.token).toMatch(/^[0-9a-f-]{36}$/);
    expect(second?.token).not.toBe(first?.token);
    expect(first?.generationTime?.seconds).toBeGreaterThanOrEqual(before);
    expect(requests.delete[0]!.idempotencyToken?.token).toBe("retry-1");
    expect(requests.delete[0]!.namespace).toBe("test-profiles");
  });

  it("sends the TTL as the item's duration and rejects a non-positive one", async () => {
    const { kv, requests } = fakeKeyValue();
    const profiles = new UserProfiles(kv);
    await profiles.put("u1", {}, { ttlMs: 1500 });
    expect(requests.put[0]!.items[0]!.ttl).toMatchObject({ seconds: 1n, nanos: 500_000_000 });
    await profiles.put("u2", {});
    expect(requests.put[1]!.items[0]!.ttl).toBeUndefined();
    await expect(profiles.put("u3", {}, { ttlMs: 0 })).rejects.toThrow(RangeError);
  });
});

describe("generated schema registration", () => {
  it("holds the model's file and all its imports, dependencies first", () => {
    const set = fromBinary(FileDescriptorSetSchema, userProfileSchemaRegistration.fileDescriptorSet);
    const names = set.file.map((file) => file.name);
    expect(names.sort()).toEqual([
      "acme/v1/user_profile.proto",
      "google/protobuf/descriptor.proto",
      "google/protobuf/duration.proto",
      "prism/options/v1/options.proto",
    ]);
    const registry = createFileRegistry(set);
    const message = registry.getMessage(userProfileSchemaRegistration.messageName);
    expect(message?.field.email).toBeDefined();
    const extension = registry.getExtension("prism.options.v1.model");
    expect(extension?.number).toBe(model.number);
  });

  it("calls AdminService.RegisterSchema with it", async () => {
    const calls: Uint8Array[] = [];
    const response = await registerUserProfileSchema({
      registerSchema: async (request) => {
        calls.push(create(RegisterSchemaRequestSchema, request).fileDescriptorSet);
        return create(RegisterSchemaResponseSchema, { messageNames: ["acme.v1.UserProfile"] });
      },
    });
    expect(calls).toEqual([userProfileSchemaRegistration.fileDescriptorSet]);
    expect(response.messageNames).toEqual(["acme.v1.UserProfile"]);
  });
});
