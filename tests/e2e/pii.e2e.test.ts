import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { type UserProfile, UserProfileSchema } from "@prism/proto/acme/v1/user_profile";
import {
  registerUserProfileSchema,
  UserProfiles,
  userProfileSchemaRegistration,
} from "@prism/proto/acme/v1/user_profile_prism";
import { createPromiseClient } from "@prism/proto/grpc";
import { AdminService, AuditOperation } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { rpcFailure } from "../support/rpc-errors.js";

/**
 * Schema-driven PII through a gateway process (auth mode none: every caller is `anonymous`):
 * RegisterSchema with the acme model, KeyValue and TimeSeries namespaces using acme.v1.UserProfile,
 * masked answers for a caller off the pii list and clear ones on it, phone and ssn sealed in the
 * SQLite file, audit entries, and no clear PII anywhere in the gateway's log output.
 */

const ADA = {
  userId: "u-1",
  email: "ada.lovelace@example.com",
  displayName: "Ada Lovelace",
  phone: "+44 20 7946 0018",
  ssn: "078-05-1120",
  address: { street: "12 St James's Square", city: "London", postalCode: "SW1Y 4JH" },
  country: "GB",
  createdAtMs: 1_700_000_000_123n,
};
/** Every clear PII string of ADA: none may show up in logs, masked answers or (sealed ones) storage. */
const CLEAR_PII = ["ada.lovelace", "Lovelace", "7946 0018", "078-05-1120", "St James", "SW1Y"];
const SEALED = ["7946 0018", "078-05-1120"];

const ada = (): UserProfile => create(UserProfileSchema, ADA);
const MASKED = create(UserProfileSchema, {
  ...ADA,
  email: "a***@example.com",
  displayName: "A*** L***",
  phone: "***-***-0018",
  ssn: "***",
  address: { street: "*** Square", city: "London", postalCode: "*** 4JH" },
});

let gateway: GatewayProcess;
let admin: ReturnType<typeof createPromiseClient<typeof AdminService.method>>;
let kv: ReturnType<typeof createPromiseClient<typeof KeyValueService.method>>;
let ts: ReturnType<typeof createPromiseClient<typeof TimeSeriesService.method>>;

/** Applies `name` with the schema; `clear` puts `anonymous` on its pii list. */
async function applyProfiles(name: string, pattern: "keyvalue" | "timeseries", clear: boolean) {
  const anyone = ["user:anonymous"];
  const spec = {
    name,
    pattern,
    backend: "local",
    schema: "acme.v1.UserProfile",
    access: { read: anyone, write: anyone, pii: clear ? anyone : ["group:support"] },
  };
  return admin.applyNamespace({ spec: { case: "yaml", value: stringify(spec) } });
}

const REPO = resolve(import.meta.dirname, "../..");

/** prismctl as a process against this gateway; rejects (with stdout and stderr) on a non-zero exit. */
function prismctl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(
    join(REPO, "node_modules/.bin/tsx"),
    [join(REPO, "prismctl/src/main.ts"), "--addr", gateway.address, ...args],
    { encoding: "utf8", timeout: 30_000 },
  );
}

beforeAll(async () => {
  gateway = await startGatewayProcess(
    {
      logLevel: "debug",
      backends: { local: { type: "sqlite", path: "pii-values.db" } },
      // currentKeyTtlMs 0: a re-encrypt job may start right after a rotation (no cached key to outwait).
      pii: { keyring: { env: "PRISM_TEST_KEYRING" }, currentKeyTtlMs: 0 },
    },
    {
      env: {
        PRISM_TEST_KEYRING: randomBytes(32).toString("base64"),
        PRISM_PII_HASH_KEY: randomBytes(32).toString("base64"),
      },
    },
  );
  admin = createPromiseClient(AdminService, { address: gateway.address });
  kv = createPromiseClient(KeyValueService, { address: gateway.address });
  ts = createPromiseClient(TimeSeriesService, { address: gateway.address });
}, 60_000);

afterAll(async () => {
  admin?.close();
  kv?.close();
  ts?.close();
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

describe("registered schemas and PII values through the gateway", { timeout: 60_000 }, () => {
  it("registers the acme schema once, lists it, and refuses namespaces naming an unknown message", async () => {
    const unknown = await rpcFailure(applyProfiles("early", "keyvalue", true), status.INVALID_ARGUMENT);
    expect(unknown.details.reason).toBe("INVALID_NAMESPACE");
    expect(unknown.message).toContain("acme.v1.UserProfile is not a registered message");

    const first = await registerUserProfileSchema(admin);
    expect(first.messageNames).toContain("acme.v1.UserProfile");
    const file = first.files.find((f) => f.name === "acme/v1/user_profile.proto");
    expect(file?.version).toBe(1);
    const again = await admin.registerSchema({
      fileDescriptorSet: userProfileSchemaRegistration.fileDescriptorSet,
    });
    expect(again.files.find((f) => f.name === "acme/v1/user_profile.proto")).toEqual(file);
    const listed = await admin.listSchemas({});
    expect(listed.files.map((f) => f.name)).toContain("acme/v1/user_profile.proto");
    expect(listed.messageNames).toContain("acme.v1.Address");

    const garbage = await rpcFailure(admin.registerSchema({ fileDescriptorSet: new Uint8Array([1, 2, 3]) }));
    expect(garbage).toMatchObject({ code: status.INVALID_ARGUMENT, details: { reason: "INVALID_SCHEMA" } });
  });

  it("prismctl registers a set from a file (unchanged files keep their version) and lists it", async () => {
    const file = join(gateway.dataDir, "acme.binpb");
    writeFileSync(file, userProfileSchemaRegistration.fileDescriptorSet);
    const registered = await prismctl("schema", "register", file);
    expect(registered.stdout).toContain("acme/v1/user_profile.proto\tv1");
    expect(registered.stdout).toMatch(/\d+ messages/);
    const listed = await prismctl("schema", "list");
    expect(listed.stdout.split("\n")).toContain("acme/v1/user_profile.proto\tv1");
    writeFileSync(file, Buffer.from("not a descriptor set"));
    const refused = await prismctl("schema", "register", file).catch((error: { stderr: string }) => error);
    expect((refused as { stderr: string }).stderr).toContain("INVALID_SCHEMA");
  });

  it("KeyValue: masked for a caller off the pii list, clear once on it, sealed in the SQLite file", async () => {
    await applyProfiles("profiles", "keyvalue", false);
    await kv.put({
      namespace: "profiles",
      id: "u-1",
      items: [{ key: new Uint8Array(), value: toBinary(UserProfileSchema, ada()) }],
    });

    const masked = await kv.get({ namespace: "profiles", id: "u-1" });
    expect(fromBinary(UserProfileSchema, masked.items[0]!.value)).toEqual(MASKED);
    const scanned = [];
    for await (const page of kv.scan({ namespace: "profiles" })) scanned.push(...page.items);
    expect(scanned.map((item) => fromBinary(UserProfileSchema, item.value))).toEqual([MASKED]);
    // The generated typed client decodes the masked value as it is.
    const typed = new UserProfiles({ address: gateway.address }, { namespace: "profiles" });
    expect(await typed.get("u-1")).toEqual(MASKED);

    await applyProfiles("profiles", "keyvalue", true);
    expect(await typed.get("u-1")).toEqual(ada());
    typed.close();

    const stored = storedBytes();
    for (const text of SEALED) expect(stored, text).not.toContain(text);
    expect(stored).toContain("ada.lovelace@example.com"); // email is PII but not sealed in the model
  });

  it("rotates the data key and re-encrypts stored values with prismctl; clear values read the same", async () => {
    await kv.put({
      namespace: "profiles",
      id: "u-2",
      items: [{ key: new Uint8Array(), value: toBinary(UserProfileSchema, ada()) }],
    });
    const rotated = await prismctl("keys", "rotate", "profiles");
    const key = /new writes use key (\S+)/.exec(rotated.stdout)?.[1];
    expect(key, rotated.stdout).toBeDefined();
    const job = await prismctl("keys", "reencrypt", "profiles");
    expect(job.stdout).toContain(`to key ${key}`);
    // Both stored values were sealed under the old key, so both are rewritten.
    expect(job.stdout).toMatch(/succeeded: \d+ values checked, 2 rewritten/);
    const again = await prismctl("keys", "reencrypt", "profiles");
    expect(again.stdout).toMatch(/succeeded: \d+ values checked, 0 rewritten/);
    const typed = new UserProfiles({ address: gateway.address }, { namespace: "profiles" });
    expect(await typed.get("u-1")).toEqual(ada());
    expect(await typed.get("u-2")).toEqual(ada());
    typed.close();
    const stored = storedBytes();
    for (const text of SEALED) expect(stored, text).not.toContain(text);
  });

  it("KeyValue: refuses a value that is not a UserProfile", async () => {
    const failure = await rpcFailure(
      kv.put({
        namespace: "profiles",
        id: "bad",
        items: [{ key: new Uint8Array(), value: new Uint8Array([0x0a, 0xff]) }],
      }),
      status.INVALID_ARGUMENT,
    );
    expect(failure.details.reason).toBe("VALUE_SCHEMA_MISMATCH");
  });

  it("TimeSeries: payloads masked on Read for a caller off the pii list, clear once on it", async () => {
    await applyProfiles("profile-events", "timeseries", false);
    const now = Date.now();
    await ts.write({
      namespace: "profile-events",
      seriesId: "u-1",
      events: [
        {
          eventTime: timestampFromMs(now - 1000),
          eventId: "e-1",
          payload: toBinary(UserProfileSchema, ada()),
        },
      ],
    });
    const masked = await ts.read({ namespace: "profile-events", seriesId: "u-1" });
    expect(masked.events.map((event) => fromBinary(UserProfileSchema, event.payload))).toEqual([MASKED]);
    expect(await firstTailed("profile-events", now - 60_000)).toEqual([MASKED]);
    await applyProfiles("profile-events", "timeseries", true);
    const clear = await ts.read({ namespace: "profile-events", seriesId: "u-1" });
    expect(clear.events.map((event) => fromBinary(UserProfileSchema, event.payload))).toEqual([ada()]);
    const stored = storedBytes();
    for (const text of SEALED) expect(stored, text).not.toContain(text);
  });

  it("audits reads and writes of audited fields (email, ssn) for the anonymous caller", async () => {
    const { entries } = await admin.queryAudit({ namespace: "profiles" });
    const ops = entries.map((entry) => [entry.principal, entry.id, entry.fields.join(","), entry.operation]);
    expect(ops).toContainEqual(["anonymous", "u-1", "email,ssn", AuditOperation.WRITE]);
    expect(ops).toContainEqual(["anonymous", "u-1", "email,ssn", AuditOperation.READ]);
  });

  it("writes no clear PII to its log", () => {
    const output = gateway.output();
    expect(output).toContain("prism gateway listening");
    for (const text of CLEAR_PII) expect(output, text).not.toContain(text);
  });
});

describe("a gateway without a keyring", { timeout: 60_000 }, () => {
  it("refuses a namespace whose schema seals fields, rather than storing them in clear", async () => {
    const plain = await startGatewayProcess({ backends: { local: { type: "sqlite", path: "plain.db" } } });
    const client = createPromiseClient(AdminService, { address: plain.address });
    try {
      await registerUserProfileSchema(client);
      const spec = { name: "profiles", pattern: "keyvalue", backend: "local", schema: "acme.v1.UserProfile" };
      const failure = await rpcFailure(
        client.applyNamespace({ spec: { case: "yaml", value: stringify(spec) } }),
        status.INVALID_ARGUMENT,
      );
      expect(failure.message).toContain("marks fields encrypt (phone, ssn)");
      expect(failure.message).toContain("no keyring configured");
    } finally {
      client.close();
      await plain.stop();
      removeDataDir(plain.dataDir);
    }
  });
});

/** The payloads of the first Tail message from `startMs`, decoded; the tail is cancelled after. */
async function firstTailed(namespace: string, startMs: number): Promise<UserProfile[]> {
  const controller = new AbortController();
  try {
    for await (const message of ts.tail(
      { namespace, seriesId: "u-1", start: timestampFromMs(startMs) },
      { signal: controller.signal },
    )) {
      return message.events.map((event) => fromBinary(UserProfileSchema, event.payload));
    }
    return [];
  } finally {
    controller.abort();
  }
}

/** Everything in the SQLite backend's files (database and write-ahead log), as latin1 text. */
function storedBytes(): string {
  return readdirSync(gateway.dataDir)
    .filter((name) => name.startsWith("pii-values.db"))
    .map((name) => readFileSync(join(gateway.dataDir, name)).toString("latin1"))
    .join("\n");
}
