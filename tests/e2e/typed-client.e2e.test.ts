import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { create, equals, fromBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { UserProfileSchema } from "@prism/proto/acme/v1/user_profile";
import { registerUserProfileSchema, UserProfiles } from "@prism/proto/acme/v1/user_profile_prism";
import { createPromiseClient } from "@prism/proto/grpc";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";

/**
 * The client protoc-gen-prism generated for acme.v1.UserProfile, against a gateway whose config
 * declares the namespace from the generated manifest (on SQLite instead of the hinted Postgres).
 * The manifest names the schema, so the gateway has a keyring (UserProfile seals phone and ssn),
 * the test registers the schema first, and the caller is on the namespace's pii list (the masked
 * view is tests/e2e/pii.e2e.test.ts).
 */
const MANIFEST = resolve(
  import.meta.dirname,
  "../../proto/src/gen/acme/v1/user_profile_UserProfile.namespace.yaml",
);

let gateway: GatewayProcess;
let profiles: UserProfiles;
let kv: ReturnType<typeof createPromiseClient<typeof KeyValueService.method>>;

beforeAll(async () => {
  const manifest = parse(readFileSync(MANIFEST, "utf8")) as Record<string, unknown>;
  expect(manifest).toMatchObject({ name: UserProfiles.defaultNamespace, pattern: "keyvalue" });
  const anyone = ["user:anonymous"];
  gateway = await startGatewayProcess(
    {
      backends: { local: { type: "sqlite", path: "profiles.db" } },
      namespaces: [{ ...manifest, backend: "local", access: { read: anyone, write: anyone, pii: anyone } }],
      pii: { keyring: { env: "PRISM_TEST_KEYRING" } },
    },
    { env: { PRISM_TEST_KEYRING: randomBytes(32).toString("base64") } },
  );
  profiles = new UserProfiles({ address: gateway.address });
  // Until its schema is registered, a config-file schema namespace refuses values (never clear).
  const early = await rpcFailure(profiles.put("u-0", ada()), status.FAILED_PRECONDITION);
  expect(early.details.reason).toBe("SCHEMA_UNAVAILABLE");
  const admin = createPromiseClient(AdminService, { address: gateway.address });
  await registerUserProfileSchema(admin);
  admin.close();
  kv = createPromiseClient(KeyValueService, { address: gateway.address });
}, 60_000);

afterAll(async () => {
  profiles?.close();
  kv?.close();
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

const ada = () =>
  create(UserProfileSchema, {
    userId: "u-1",
    email: "ada@example.com",
    displayName: "Ada Lovelace",
    phone: "+44 20 7946 0000",
    ssn: "078-05-1120",
    address: { street: "12 St James's Square", city: "London", postalCode: "SW1Y 4JH" },
    country: "GB",
    createdAtMs: 1_700_000_000_123n,
  });

describe("generated UserProfiles client over the gateway", () => {
  it("puts and gets a profile, nested address included", async () => {
    expect(profiles.namespace).toBe("user-profiles");
    await profiles.put("u-1", ada());
    const got = await profiles.get("u-1");
    expect(got).toBeDefined();
    expect(equals(UserProfileSchema, got!, ada())).toBe(true);
    expect(got!.address?.city).toBe("London");
    expect(got!.createdAtMs).toBe(1_700_000_000_123n);
  });

  it("accepts an init object and replaces the record on put", async () => {
    await profiles.put("u-2", { userId: "u-2", displayName: "First" });
    await profiles.put("u-2", { userId: "u-2", displayName: "Second", address: { city: "Paris" } });
    const got = await profiles.get("u-2");
    expect(got).toMatchObject({ displayName: "Second", address: { city: "Paris" } });
  });

  it("answers undefined for a missing id and after delete", async () => {
    expect(await profiles.get("nobody")).toBeUndefined();
    await profiles.put("u-3", { userId: "u-3" });
    expect(await profiles.get("u-3")).toBeDefined();
    await profiles.delete("u-3");
    expect(await profiles.get("u-3")).toBeUndefined();
    // Deleting what is not there succeeds.
    await profiles.delete("u-3");
  });

  it("stores the protobuf binary as the record's one item under the empty key", async () => {
    await profiles.put("u-1", ada());
    const { items } = await kv.get({ namespace: "user-profiles", id: "u-1" });
    expect(items).toHaveLength(1);
    expect(items[0]!.key).toEqual(new Uint8Array());
    expect(equals(UserProfileSchema, fromBinary(UserProfileSchema, items[0]!.value), ada())).toBe(true);
  });

  it("makes a retried put with the same idempotency token a no-op", async () => {
    await profiles.put("u-4", { displayName: "original" }, { idempotencyToken: "retry-1" });
    await profiles.put("u-4", { displayName: "changed" }, { idempotencyToken: "retry-1" });
    expect((await profiles.get("u-4"))?.displayName).toBe("original");
    await profiles.put("u-4", { displayName: "changed" });
    expect((await profiles.get("u-4"))?.displayName).toBe("changed");
  });

  it("expires a record written with ttlMs", async () => {
    await profiles.put("u-5", { displayName: "ephemeral" }, { ttlMs: 300 });
    expect(await profiles.get("u-5")).toBeDefined();
    await new Promise((r) => setTimeout(r, 600));
    expect(await profiles.get("u-5")).toBeUndefined();
  });

  it("works over a shared KeyValue client and leaves it open on close", async () => {
    const shared = new UserProfiles(kv);
    await shared.put("u-6", { displayName: "shared" });
    shared.close();
    expect((await profiles.get("u-6"))?.displayName).toBe("shared");
    expect((await kv.get({ namespace: "user-profiles", id: "u-6" })).items).toHaveLength(1);
  });
});
