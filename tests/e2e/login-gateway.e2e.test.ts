import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { startTestIssuer, type TestIssuer } from "../support/oidc-issuer.js";

/**
 * prismctl logged in at the real test issuer, against a gateway in `auth.mode: oidc` that trusts
 * it: WhoAmI reports the token's subject and groups, access lists see the same identity, and a
 * logged-out prismctl is refused.
 */

const REPO = resolve(import.meta.dirname, "../..");
let issuer: TestIssuer;
let gateway: GatewayProcess;
const homes: string[] = [];

beforeAll(async () => {
  issuer = await startTestIssuer();
  gateway = await startGatewayProcess({
    auth: {
      mode: "oidc",
      oidc: { issuer: issuer.issuer, audience: issuer.audience, allowInsecureHttp: true },
      adminGroups: ["prism-admins"],
    },
    backends: { mem: { type: "memory" } },
    namespaces: [
      {
        name: "login-kv",
        pattern: "keyvalue",
        backend: "mem",
        access: { read: ["group:profiles-readers"], write: ["group:profiles-writers"] },
      },
    ],
  });
});
afterAll(async () => {
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
  await issuer?.stop();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

/** prismctl with its own config home (one per user); resolves when it exits. */
function prismctl(home: string, args: string[], onLine?: (line: string) => void) {
  const { PRISM_TOKEN: _t, PRISM_ISSUER: _i, ...inherited } = process.env;
  const child = spawn(join(REPO, "node_modules/.bin/tsx"), [join(REPO, "prismctl/src/main.ts"), ...args], {
    env: { ...inherited, XDG_CONFIG_HOME: home, PRISM_ADDR: gateway.address },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const line of chunk.split("\n")) onLine?.(line);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((ok) =>
    child.on("close", (code) => ok({ code, stdout, stderr })),
  );
}

/** A config home where `user` logged in with the PKCE flow. */
async function loggedIn(user: string): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), `prismctl-${user}-`));
  homes.push(home);
  const approvals: Promise<URL>[] = [];
  const result = await prismctl(home, ["login", "--pkce", "--issuer", issuer.issuer], (line) => {
    if (line.startsWith(`${issuer.issuer}/auth?`)) approvals.push(issuer.authorize(line, user));
  });
  await Promise.all(approvals);
  expect(result.code, result.stderr).toBe(0);
  return home;
}

describe("prismctl against a gateway with auth.mode oidc", { timeout: 180_000 }, () => {
  it("whoami shows the gateway's view of the logged-in user", async () => {
    const root = await prismctl(await loggedIn("root"), ["whoami"]);
    expect(root.code, root.stderr).toBe(0);
    expect(root.stdout).toContain(`issuer\t${issuer.issuer}\n`);
    expect(root.stdout).toContain("subject\troot\ngroups\tprism-admins\nadmin\tyes\nauth\toidc\n");

    const alice = await loggedIn("alice");
    const who = await prismctl(alice, ["whoami"]);
    expect(who.stdout).toContain("subject\talice\ngroups\tprofiles-readers\nadmin\tno\n");
    // The namespace's access lists see the same identity: alice reads, but may not write.
    expect((await prismctl(alice, ["kv", "get", "login-kv", "id-1"])).code).toBe(0);
    const write = await prismctl(alice, ["kv", "put", "login-kv", "id-1", "v"]);
    expect(write.code).toBe(1);
    expect(write.stderr).toContain("alice may not write namespace login-kv (ACCESS_DENIED)");
  });

  it("is refused without a login and after logout", async () => {
    const nobody = mkdtempSync(join(tmpdir(), "prismctl-nobody-"));
    homes.push(nobody);
    const anonymous = await prismctl(nobody, ["kv", "get", "login-kv", "id-1"]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain("TOKEN_MISSING");

    const bob = await loggedIn("bob");
    expect((await prismctl(bob, ["kv", "put", "login-kv", "id-1", "v"])).code).toBe(0);
    expect((await prismctl(bob, ["logout"])).code).toBe(0);
    const after = await prismctl(bob, ["kv", "put", "login-kv", "id-1", "v"]);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain("TOKEN_MISSING");
  });
});
