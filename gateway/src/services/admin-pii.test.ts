import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Backend } from "@prism/core";
import {
  AuditOperation,
  GetReEncryptRequestSchema,
  JobState,
  QueryAuditRequestSchema,
  RotateKeyRequestSchema,
  StartReEncryptRequestSchema,
} from "@prism/proto/prism/admin/v1/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteConfigStore } from "../config/config-store.js";
import { gatewayConfigSchema } from "../config/gateway-config.js";
import type { RequestContext } from "../context.js";
import { DRIVERS } from "../drivers.js";
import { createLogger } from "../log.js";
import { openPiiRuntime, type PiiRuntime } from "../pii/pii-runtime.js";
import type { Reseal } from "../pii/reencrypt-job.js";
import { openBackends } from "../registry/backend-set.js";
import { layerBackends } from "../registry/layers.js";
import { NamespaceRegistry } from "../registry/namespace-registry.js";
import { PiiAdmin } from "./admin-pii.js";

const dir = mkdtempSync(join(tmpdir(), "prism-admin-pii-"));
process.env.PRISM_TEST_ADMIN_KEYRING = randomBytes(32).toString("base64");
const config = gatewayConfigSchema.parse({
  dataDir: dir,
  backends: { local: { type: "sqlite", path: "kv.db" } },
  namespaces: [
    { name: "people", pattern: "keyvalue", backend: "local" },
    { name: "events", pattern: "timeseries", backend: "local" },
  ],
  pii: { keyring: { env: "PRISM_TEST_ADMIN_KEYRING" }, currentKeyTtlMs: 0 },
});
const logger = createLogger("silent");
let backends: Map<string, Backend>;
let store: SqliteConfigStore;
let registry: NamespaceRegistry;
let pii: PiiRuntime;
let admin: PiiAdmin;
const enc = new TextEncoder();
const dec = new TextDecoder();
/** The fake envelope of the re-encrypt seam: "old:" values move to "new:". */
const tagNew: Reseal = async (value) => {
  const text = dec.decode(value);
  return text.startsWith("old:") ? enc.encode(`new:${text.slice(4)}`) : undefined;
};
const ctx = { signal: new AbortController().signal } as RequestContext;

beforeAll(async () => {
  backends = await openBackends(config, DRIVERS, logger);
  store = new SqliteConfigStore(join(dir, "config.db"));
  registry = new NamespaceRegistry(config, DRIVERS, layerBackends(backends, config, logger), store, logger);
  await registry.start();
  pii = await openPiiRuntime(config);
  admin = new PiiAdmin(registry, pii, (ns) => (ns.spec.name === "people" ? tagNew : undefined));
});
afterAll(async () => {
  await pii?.close();
  registry?.stop();
  await store?.close();
  for (const backend of backends?.values() ?? []) await backend.close();
  rmSync(dir, { recursive: true, force: true });
  delete process.env.PRISM_TEST_ADMIN_KEYRING;
});

describe("PiiAdmin", () => {
  it("rotates a namespace's key and refuses unknown or oversized names", async () => {
    const first = await admin.rotateKey(create(RotateKeyRequestSchema, { namespace: "people" }));
    const second = await admin.rotateKey(create(RotateKeyRequestSchema, { namespace: "people" }));
    expect(second.previousKeyIds).toEqual([first.keyId]);
    expect(await pii.cipher.currentKeyId("people")).toBe(second.keyId);
    await expect(
      admin.rotateKey(create(RotateKeyRequestSchema, { namespace: "nobody" })),
    ).rejects.toMatchObject({
      reason: "NAMESPACE_NOT_FOUND",
    });
    await expect(
      admin.rotateKey(create(RotateKeyRequestSchema, { namespace: "x".repeat(300) })),
    ).rejects.toMatchObject({
      kind: "InvalidArgument",
      field: "namespace",
    });
  });

  it("re-encrypts a KeyValue namespace through its binding and reports the job", async () => {
    const kv = registry.get("people")!.binding.keyvalue;
    for (let i = 0; i < 30; i++) {
      await kv.put(
        "people",
        `p-${i}`,
        [{ key: new Uint8Array(), value: enc.encode(`${i < 20 ? "old" : "new"}:${i}`) }],
        {},
      );
    }
    const { job } = await admin.startReEncrypt(create(StartReEncryptRequestSchema, { namespace: "people" }));
    expect(job).toMatchObject({
      namespace: "people",
      state: JobState.RUNNING,
      keyId: await pii.cipher.currentKeyId("people"),
    });
    let seen = job!;
    while (seen.state === JobState.RUNNING) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = (await admin.getReEncrypt(create(GetReEncryptRequestSchema, { id: job!.id }))).job!;
    }
    expect(seen).toMatchObject({
      state: JobState.SUCCEEDED,
      recordsDone: 30n,
      recordsRewritten: 20n,
      error: "",
    });
    const { rows } = await kv.scan("people", { limitItems: 100, limitBytes: 1 << 20 });
    expect(rows.every((row) => dec.decode(row.item.value).startsWith("new:"))).toBe(true);

    await expect(
      admin.startReEncrypt(create(StartReEncryptRequestSchema, { namespace: "events" })),
    ).rejects.toMatchObject({
      kind: "FailedPrecondition",
      reason: "NAMESPACE_NOT_ENCRYPTED",
    });
    await expect(
      admin.getReEncrypt(create(GetReEncryptRequestSchema, { id: "reenc-0000" })),
    ).rejects.toMatchObject({
      kind: "NotFound",
    });
  });

  it("answers QueryAudit pages with entries as messages and VerifyAudit with the chain's state", async () => {
    for (let i = 0; i < 3; i++) {
      await pii.audit.append({
        principal: "user:ann",
        namespace: "people",
        id: `p-${i}`,
        fields: ["email"],
        operation: "write",
      });
    }
    const page = await admin.queryAudit(
      create(QueryAuditRequestSchema, {
        namespace: "people",
        principal: "",
        limit: 2,
        pageToken: "",
      }),
    );
    expect(page.entries).toHaveLength(2);
    expect(page.entries[0]).toMatchObject({
      seq: 1n,
      principal: "user:ann",
      id: "p-0",
      fields: ["email"],
      operation: AuditOperation.WRITE,
    });
    expect(page.entries[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    const rest = await admin.queryAudit(
      create(QueryAuditRequestSchema, {
        namespace: "people",
        principal: "",
        limit: 2,
        pageToken: page.nextPageToken,
      }),
    );
    expect(rest.entries.map((e) => e.seq)).toEqual([3n]);
    expect(rest.nextPageToken).toBe("");
    await expect(
      admin.queryAudit(
        create(QueryAuditRequestSchema, {
          namespace: "",
          principal: "",
          startTime: timestampFromMs(Date.now()),
          endTime: timestampFromMs(Date.now() - 1000),
          limit: 0,
          pageToken: "",
        }),
      ),
    ).rejects.toMatchObject({ reason: "INVALID_TIME_RANGE" });
    await expect(
      admin.queryAudit(
        create(QueryAuditRequestSchema, {
          namespace: "",
          principal: "",
          limit: 0,
          pageToken: "not a token!",
        }),
      ),
    ).rejects.toMatchObject({ reason: "INVALID_PAGE_TOKEN" });
    expect(await admin.verifyAudit({}, ctx)).toMatchObject({ ok: true, entriesChecked: 3n, firstBadSeq: 0n });
  });
});
