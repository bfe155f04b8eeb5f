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
    namespaces: (["keyvalue", "timeseries", "graph"] as const).map((pattern) => ({
      name: `login-${pattern}`,
      pattern,
      backend: "mem",
      access: { read: ["group:profiles-readers"], write: ["group:profiles-writers"] },
    })),
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
    expect((await prismctl(alice, ["kv", "get", "login-keyvalue", "id-1"])).code).toBe(0);
    const write = await prismctl(alice, ["kv", "put", "login-keyvalue", "id-1", "v"]);
    expect(write.code).toBe(4);
    expect(write.stderr).toContain("alice may not write namespace login-keyvalue (ACCESS_DENIED)");
  });

  it("holds every pattern to the access lists of the issuer's identity", async () => {
    const bob = await loggedIn("bob");
    const alice = await loggedIn("alice");
    const writes = [
      ["ts", "write", "login-timeseries", "cpu", "0.5", "--id", "e1"],
      ["graph", "upsert-node", "login-graph", "n1", "person"],
    ];
    const reads = [
      ["ts", "read", "login-timeseries", "cpu", "--start", "-1h"],
      ["graph", "get", "login-graph", "n1"],
    ];
    for (const args of writes) {
      const byBob = await prismctl(bob, args);
      expect(byBob.code, `${args.join(" ")}: ${byBob.stderr}`).toBe(0);
      const byAlice = await prismctl(alice, args);
      expect(byAlice.code).toBe(4);
      expect(byAlice.stderr).toContain(`alice may not write namespace ${args[2]} (ACCESS_DENIED)`);
    }
    for (const args of reads) {
      const byAlice = await prismctl(alice, args);
      expect(byAlice.code, `${args.join(" ")}: ${byAlice.stderr}`).toBe(0);
      expect(byAlice.stdout).toMatch(args[0] === "ts" ? /e1/ : /n1/);
      const byBob = await prismctl(bob, args);
      expect(byBob.code).toBe(4);
      expect(byBob.stderr).toContain(`bob may not read namespace ${args[2]} (ACCESS_DENIED)`);
    }
  });

  it("refuses the issuer's bad tokens, each with its reason", async () => {
    const home = mkdtempSync(join(tmpdir(), "prismctl-bad-"));
    homes.push(home);
    const bad: [string, string][] = [
      [issuer.mint({ expiresIn: -600 }), "TOKEN_EXPIRED"],
      [issuer.mint({ notBefore: 600 }), "TOKEN_NOT_YET_VALID"],
      [issuer.mint({ foreignKey: true }), "TOKEN_SIGNATURE"],
      [issuer.mint({ alg: "none" }), "TOKEN_ALGORITHM"],
      [issuer.mint({ aud: "another-service" }), "TOKEN_AUDIENCE"],
      [issuer.mint({ iss: "http://127.0.0.1:1/elsewhere" }), "TOKEN_ISSUER"],
      [issuer.mint({ kid: "no-such-key" }), "TOKEN_KEY_UNKNOWN"],
      ["not.a.jwt", "TOKEN_MALFORMED"],
    ];
    for (const [token, reason] of bad) {
      const result = await prismctl(home, ["--token", token, "kv", "get", "login-keyvalue", "id-1"]);
      expect(result.code, reason).toBe(4);
      expect(result.stderr, reason).toContain(reason);
    }
    const good = await prismctl(home, [
      "--token",
      issuer.mint({ sub: "alice" }),
      "kv",
      "get",
      "login-keyvalue",
      "id-1",
    ]);
    expect(good.code, good.stderr).toBe(0);
  });

  it("is refused without a login and after logout", async () => {
    const nobody = mkdtempSync(join(tmpdir(), "prismctl-nobody-"));
    homes.push(nobody);
    const anonymous = await prismctl(nobody, ["kv", "get", "login-keyvalue", "id-1"]);
    expect(anonymous.code).toBe(4);
    expect(anonymous.stderr).toContain("TOKEN_MISSING");

    const bob = await loggedIn("bob");
    expect((await prismctl(bob, ["kv", "put", "login-keyvalue", "id-1", "v"])).code).toBe(0);
    expect((await prismctl(bob, ["logout"])).code).toBe(0);
    const after = await prismctl(bob, ["kv", "put", "login-keyvalue", "id-1", "v"]);
    expect(after.code).toBe(4);
    expect(after.stderr).toContain("TOKEN_MISSING");
  });
});
