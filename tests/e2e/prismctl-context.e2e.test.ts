import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { runPrismctl } from "../support/prismctl.js";
import { createTestCa, type Issued, type TestCa } from "../support/test-certs.js";

/**
 * prismctl contexts end to end against an mTLS gateway: a context holds the address, the TLS
 * files and a namespace; flags and environment variables win over it. Refusals exit 4 with a
 * hint naming what is missing.
 */
let ca: TestCa;
let gateway: GatewayProcess;
let home: string;
let config: string;
let admin: Issued;
let reader: Issued;
let address: string;

/** prismctl with this test's context file and no --addr (unless given in `args`). */
function prismctl(args: string[], env: Record<string, string> = {}) {
  return runPrismctl(undefined, args, { env: { PRISMCTL_CONFIG: config, ...env } });
}

beforeAll(async () => {
  ca = createTestCa();
  const server = ca.server();
  gateway = await startGatewayProcess({
    backends: { mem: { type: "memory" } },
    namespaces: [
      {
        name: "ctx-kv",
        pattern: "keyvalue",
        backend: "mem",
        access: { read: ["group:readers"], write: ["group:writers"] },
      },
      { name: "ctx-other", pattern: "keyvalue", backend: "mem" },
    ],
    auth: { mode: "mtls", adminGroups: ["prism-admins"] },
    tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: ca.certFile },
  });
  admin = ca.client("ops", ["prism-admins", "writers", "readers"]);
  reader = ca.client("rita", ["readers"]);
  // The server certificate names localhost.
  address = gateway.address.replace("127.0.0.1", "localhost");
  home = mkdtempSync(join(tmpdir(), "prismctl-contexts-"));
  config = join(home, "prism", "contexts.yaml");
}, 60_000);
afterAll(async () => {
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
  if (home) rmSync(home, { recursive: true, force: true });
});

// Every prismctl call is a fresh tsx process: seconds each on a loaded machine.
describe("prismctl contexts", { timeout: 180_000 }, () => {
  it("saves a context (0600) whose address, TLS files and namespace later commands use", async () => {
    const tls = ["--tls-ca", ca.certFile, "--tls-cert", admin.certFile, "--tls-key", admin.keyFile];
    const set = await prismctl(["context", "set", "ops", "--addr", address, "-n", "ctx-kv", ...tls]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe(`context ops saved (current) in ${config}\n`);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(parse(readFileSync(config, "utf8"))).toEqual({
      current: "ops",
      contexts: {
        ops: {
          addr: address,
          namespace: "ctx-kv",
          tlsCa: ca.certFile,
          tlsCert: admin.certFile,
          tlsKey: admin.keyFile,
        },
      },
    });

    // No --addr, no TLS flags, no namespace: all from the context.
    expect((await prismctl(["kv", "put", "user-1", "from-context"])).code).toBe(0);
    expect((await prismctl(["kv", "get", "user-1"])).stdout).toBe("from-context\n");
    // The positional form and -n still win over the context's namespace.
    expect((await prismctl(["kv", "put", "ctx-other", "user-1", "other"])).code).toBe(0);
    expect((await prismctl(["kv", "get", "-n", "ctx-other", "user-1"])).stdout).toBe("other\n");
    expect((await prismctl(["kv", "get", "user-1"], { PRISM_NAMESPACE: "ctx-other" })).stdout).toBe(
      "other\n",
    );

    const shown = await prismctl(["context", "show"], { PRISM_NAMESPACE: "ctx-other" });
    expect(shown.stdout).toContain(`addr\t${address}\t(context "ops")\n`);
    expect(shown.stdout).toContain("namespace\tctx-other\t(PRISM_NAMESPACE)\n");
    expect(shown.stdout).toContain(`tlsCert\t${admin.certFile}\t(context "ops")\n`);
  });

  it("switches contexts; flags and environment variables win over the current one", async () => {
    const readerTls = ["--tls-ca", ca.certFile, "--tls-cert", reader.certFile, "--tls-key", reader.keyFile];
    expect((await prismctl(["context", "set", "rita", "--addr", address, ...readerTls])).stdout).toBe(
      `context rita saved in ${config}\n`,
    );
    const list = await prismctl(["context", "list"]);
    expect(list.stdout).toBe(`*\tops\t${address}\tctx-kv\n\trita\t${address}\t-\n`);
    expect((await prismctl(["context", "use", "rita"])).stdout).toBe("now using context rita\n");
    expect(JSON.parse((await prismctl(["whoami", "-o", "json"])).stdout)).toMatchObject({
      subject: "rita",
      groups: ["readers"],
      admin: false,
      authMode: "mtls",
    });
    expect(JSON.parse((await prismctl(["--context", "ops", "whoami", "--json"])).stdout).subject).toBe("ops");
    expect(
      JSON.parse((await prismctl(["whoami", "-o", "json"], { PRISM_CONTEXT: "ops" })).stdout).subject,
    ).toBe("ops");
    // An explicit address wins over the context's: nothing listens there.
    const elsewhere = await prismctl(["--addr", "127.0.0.1:1", "whoami"]);
    expect(elsewhere.code).toBe(5);
    expect(elsewhere.stderr).toContain("hint: is a gateway listening on 127.0.0.1:1?");
  });

  it("exits 4 when refused, with a hint naming what is needed", async () => {
    const notAdmin = await prismctl(["namespace", "list"]);
    expect(notAdmin.code).toBe(4);
    expect(notAdmin.stderr).toBe(
      "error: ListNamespaces needs membership in an admin group (ADMIN_REQUIRED)\n" +
        "hint: ListNamespaces needs membership in one of the gateway's auth.adminGroups; " +
        "`prismctl whoami` shows who the gateway thinks you are and your groups\n",
    );
    const write = await prismctl(["kv", "put", "ctx-kv", "user-1", "nope"]);
    expect(write.code).toBe(4);
    expect(write.stderr).toContain("rita may not write namespace ctx-kv (ACCESS_DENIED)\n");
    expect(write.stderr).toContain(
      "hint: you need write access to ctx-kv: its access.write list must name you",
    );
    // rita may read.
    expect((await prismctl(["kv", "get", "ctx-kv", "user-1"])).stdout).toBe("from-context\n");
  });

  it("deletes contexts and says which exist", async () => {
    expect((await prismctl(["context", "delete", "rita"])).stdout).toBe("context rita deleted\n");
    const use = await prismctl(["context", "use", "rita"]);
    expect(use.code).toBe(2);
    expect(use.stderr).toContain('error: no context "rita" (there are: ops)');
    // The current one went: commands fall back to the default address.
    expect(parse(readFileSync(config, "utf8"))).toEqual({ contexts: { ops: expect.any(Object) } });
    expect((await prismctl(["context", "show"])).stdout).toBe(
      "context\t(none)\naddr\t127.0.0.1:8980\t(default)\n",
    );
  });
});
