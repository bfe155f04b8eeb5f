import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog, openSqliteFile, SqliteAuditStore } from "@prism/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchGateway } from "../support/gateway-launch.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { runPrismctl } from "../support/prismctl.js";

const SECRET_KEY = randomBytes(32).toString("base64");
let gateway: GatewayProcess;
let dataDir: string;

function prismctl(...args: string[]) {
  return runPrismctl(gateway.address, args);
}

function gatewayConfig(keyringFile: string) {
  return {
    backends: { local: { type: "sqlite", path: "pii.db" } },
    namespaces: [{ name: "pii-kv", pattern: "keyvalue", backend: "local" }],
    pii: { keyring: { file: keyringFile } },
  };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "prism-e2e-pii-"));
  const keyring = join(dataDir, "keyring.yaml");
  writeFileSync(keyring, `active: kek-1\nkeys:\n  kek-1: ${SECRET_KEY}\n`);
  chmodSync(keyring, 0o600);
  gateway = await startGatewayProcess(gatewayConfig(keyring), { dataDir });
});
afterAll(async () => {
  await gateway?.stop();
  removeDataDir(dataDir);
});

describe("PII keys and audit through the gateway and prismctl", { timeout: 120_000 }, () => {
  it("rotates a namespace's data key; earlier keys are kept", async () => {
    const first = await prismctl("keys", "rotate", "pii-kv");
    expect(first.code).toBe(0);
    const [, key1] = /new writes use key ([0-9a-f]{16})/.exec(first.stdout) ?? [];
    expect(key1).toBeDefined();
    const second = await prismctl("keys", "rotate", "pii-kv");
    expect(second.stdout).toMatch(/new writes use key [0-9a-f]{16} \(older keys kept: [0-9a-f]{16}\)/);
    expect(second.stdout).toContain(key1!);
    const missing = await prismctl("keys", "rotate", "no-such-ns");
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("(NAMESPACE_NOT_FOUND)");
  });

  it("refuses to re-encrypt a namespace without encrypted fields", async () => {
    const run = await prismctl("keys", "reencrypt", "pii-kv");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("(NAMESPACE_NOT_ENCRYPTED)");
  });

  it("lists, filters and verifies the audit log, and reports the entry altered behind its back", async () => {
    expect(await prismctl("audit", "verify")).toMatchObject({
      code: 0,
      stdout: "ok: 0 entries, chain intact\n",
    });
    // Another gateway sharing the store appends (the value policy does this on audited reads).
    const db = openSqliteFile(join(dataDir, "config.db"));
    try {
      const log = new AuditLog(new SqliteAuditStore(db));
      await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          log.append({
            principal: `user:u${i % 2}`,
            namespace: "pii-kv",
            id: `r-${i}`,
            fields: ["email"],
            operation: "read",
          }),
        ),
      );
      const listed = await prismctl("audit", "--principal", "user:u1", "--since", "-1h");
      expect(listed.code).toBe(0);
      const lines = listed.stdout.trim().split("\n");
      expect(lines).toHaveLength(6);
      expect(lines.every((line) => /^\d+\t\S+\tread \tuser:u1\tpii-kv\tr-\d+\temail$/.test(line))).toBe(true);
      expect((await prismctl("audit", "--namespace", "other")).stdout).toBe("");
      expect((await prismctl("audit", "verify")).stdout).toBe("ok: 12 entries, chain intact\n");

      db.prepare("UPDATE pii_audit SET record_id = 'r-99' WHERE seq = 7").run();
      const broken = await prismctl("audit", "verify");
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain("BROKEN at entry 7");
    } finally {
      db.close();
    }
    // Key material never reaches the gateway's output.
    expect(gateway.output()).not.toContain(SECRET_KEY);
  });

  it("does not start with a keyring file others can read", async () => {
    const open = join(dataDir, "open-keyring.key");
    writeFileSync(open, SECRET_KEY);
    chmodSync(open, 0o644);
    const configFile = join(dataDir, "bad.yaml");
    writeFileSync(
      configFile,
      JSON.stringify({
        listen: { grpc: "127.0.0.1:0" },
        dataDir: join(dataDir, "bad"),
        ...gatewayConfig(open),
      }),
    );
    const bad = launchGateway({ args: ["--config", configFile] });
    expect(await bad.exited).not.toBe(0);
    expect(bad.output()).toMatch(
      /keyring file .* is readable or writable by group or others \(mode 644\); chmod 600 it/,
    );
    expect(bad.output()).not.toContain(SECRET_KEY);
  });
});
