import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { create } from "@bufbuild/protobuf";
import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { grpcServiceDefinition } from "@prism/proto/grpc";
import { AdminService, WhoAmIResponseSchema } from "@prism/proto/prism/admin/v1/admin";
import { GetResponseSchema, KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestIssuer, type TestIssuer } from "../support/oidc-issuer.js";

/**
 * prismctl login/logout/whoami against the real OpenID provider of tests/support/oidc-issuer.ts,
 * and the token it then sends, as seen by a small gRPC server that records every call's
 * `authorization` metadata (WhoAmI answers from it; KeyValue Get answers empty).
 */

const REPO = resolve(import.meta.dirname, "../..");
let issuer: TestIssuer;
/** Access tokens expire in 30 s: within prismctl's refresh margin, so every command refreshes. */
let shortIssuer: TestIssuer;
let server: Server;
let address: string;
let home: string;
const seen: (string | undefined)[] = [];

function recordAuthorization(metadata: Metadata): string | undefined {
  const value = metadata.get("authorization")[0];
  const text = value === undefined ? undefined : String(value);
  seen.push(text);
  return text;
}

beforeAll(async () => {
  [issuer, shortIssuer] = await Promise.all([startTestIssuer(), startTestIssuer({ accessTokenTTL: 30 })]);
  server = new Server();
  server.addService(grpcServiceDefinition(AdminService), {
    whoAmI(call: ServerUnaryCall<unknown, unknown>, done: sendUnaryData<unknown>) {
      const bearer = recordAuthorization(call.metadata);
      const claims = bearer
        ? JSON.parse(Buffer.from(bearer.split(".")[1] ?? "", "base64url").toString())
        : {};
      done(
        null,
        create(WhoAmIResponseSchema, {
          subject: claims.sub ?? "",
          groups: claims.groups ?? [],
          admin: false,
          authMode: "oidc",
        }),
      );
    },
  });
  server.addService(grpcServiceDefinition(KeyValueService), {
    get(call: ServerUnaryCall<unknown, unknown>, done: sendUnaryData<unknown>) {
      recordAuthorization(call.metadata);
      done(null, create(GetResponseSchema, {}));
    },
  });
  const port = await new Promise<number>((ok, fail) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))),
  );
  address = `127.0.0.1:${port}`;
});
afterAll(async () => {
  server?.forceShutdown();
  await Promise.all([issuer?.stop(), shortIssuer?.stop()]);
});
beforeEach(() => {
  if (home) rmSync(home, { recursive: true, force: true });
  home = mkdtempSync(join(tmpdir(), "prismctl-login-"));
  seen.length = 0;
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

interface Run {
  /** Resolves with the first stdout line matching `pattern`. */
  line(pattern: RegExp): Promise<string>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Runs prismctl as a process with its own config home; the issuer stays reachable meanwhile. */
function prismctl(args: string[], env: Record<string, string> = {}): Run {
  const { PRISM_TOKEN: _t, PRISM_ISSUER: _i, ...inherited } = process.env;
  const child = spawn(join(REPO, "node_modules/.bin/tsx"), [join(REPO, "prismctl/src/main.ts"), ...args], {
    env: { ...inherited, XDG_CONFIG_HOME: home, PRISM_ADDR: address, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const waiter of [...waiters]) {
      const match = stdout.split("\n").find((l) => waiter.pattern.test(l));
      if (match !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((ok) =>
    child.on("close", (code) => ok({ code, stdout, stderr })),
  );
  return {
    line: (pattern) =>
      Promise.race([
        new Promise<string>((ok) => waiters.push({ pattern, resolve: ok })),
        done.then((r) => {
          throw new Error(`prismctl exited ${r.code} before printing ${pattern}: ${r.stdout}${r.stderr}`);
        }),
      ]),
    done,
  };
}

const tokenDir = () => join(home, "prism", "tokens");
const cachedFile = () => join(tokenDir(), readdirSync(tokenDir())[0]!);

async function deviceLogin(at: TestIssuer, user: string) {
  const run = prismctl(["login", "--issuer", at.issuer]);
  const prompt = await run.line(/enter the code/);
  const code = /enter the code (\S+)/.exec(prompt)![1]!;
  await at.approveDevice(code, user);
  return run.done;
}

describe("prismctl login", { timeout: 120_000 }, () => {
  it("logs in with the device code flow and caches the tokens 0600 in a 0700 directory", async () => {
    const result = await deviceLogin(issuer, "alice");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Logged in to ${issuer.issuer} as alice`);
    expect(statSync(cachedFile()).mode & 0o777).toBe(0o600);
    expect(statSync(tokenDir()).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, "prism")).mode & 0o777).toBe(0o700);

    const whoami = await prismctl(["whoami"]).done;
    expect(whoami.code).toBe(0);
    expect(whoami.stdout).toContain(`issuer\t${issuer.issuer}\n`);
    expect(whoami.stdout).toContain("subject\talice\ngroups\tprofiles-readers\n");
    // The gateway got the access token the issuer signed for the audience `prism`.
    const claims = JSON.parse(Buffer.from(seen[0]!.split(".")[1]!, "base64url").toString());
    expect(seen[0]).toMatch(/^Bearer /);
    expect(claims).toMatchObject({
      iss: issuer.issuer,
      aud: "prism",
      sub: "alice",
      groups: ["profiles-readers"],
    });
  });

  it("logs in with authorization code + PKCE through a loopback redirect", async () => {
    const run = prismctl(["login", "--pkce", "--issuer", issuer.issuer]);
    const url = new URL(await run.line(/^http:\/\/127\.0\.0\.1:\d+\/auth\?/));
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    await issuer.authorize(url.href, "bob");
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("as bob");

    await prismctl(["kv", "get", "any-ns", "id-1"]).done;
    const claims = JSON.parse(Buffer.from(seen[0]!.split(".")[1]!, "base64url").toString());
    expect(claims).toMatchObject({ sub: "bob", groups: ["profiles-writers"] });
  });

  it("refreshes an access token near its expiry before sending it, and stores the new one", async () => {
    expect((await deviceLogin(shortIssuer, "carol")).code).toBe(0);
    const first = readFileSync(cachedFile(), "utf8");
    const before = JSON.parse(first) as { accessToken: string; refreshToken: string };
    expect(before.refreshToken).toBeTruthy();

    const whoami = await prismctl(["whoami"]).done;
    expect(whoami.code).toBe(0);
    const after = JSON.parse(readFileSync(cachedFile(), "utf8")) as typeof before;
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(seen).toEqual([`Bearer ${after.accessToken}`]);
    expect(statSync(cachedFile()).mode & 0o777).toBe(0o600);
    expect(whoami.stdout).toContain("subject\tcarol\ngroups\tsupport\n");
  });

  it("refreshes one at a time when several commands find the token stale together", async () => {
    expect((await deviceLogin(shortIssuer, "bob")).code).toBe(0);
    const revoked = shortIssuer.revokedGrants();
    // The issuer rotates refresh tokens and revokes the grant when a used one comes back: without
    // the refresh lock, the losers of this race would present a used token and log bob out.
    const runs = await Promise.all([1, 2, 3].map(() => prismctl(["kv", "get", "ns", "id"]).done));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(shortIssuer.revokedGrants()).toBe(revoked);
    expect(seen).toHaveLength(3);
    const whoami = await prismctl(["whoami"]).done;
    expect(whoami.stdout).toContain("subject\tbob\n");
  });

  it("sends a fresh cached token as it is, and --token or PRISM_TOKEN instead when given", async () => {
    expect((await deviceLogin(issuer, "root")).code).toBe(0);
    const cached = JSON.parse(readFileSync(cachedFile(), "utf8")) as {
      accessToken: string;
    };
    expect((await prismctl(["kv", "get", "ns", "id"]).done).code).toBe(0);
    expect((await prismctl(["--token", "given.by.flag", "kv", "get", "ns", "id"]).done).code).toBe(0);
    expect((await prismctl(["kv", "get", "ns", "id"], { PRISM_TOKEN: "given.by.env" }).done).code).toBe(0);
    expect(seen).toEqual([`Bearer ${cached.accessToken}`, "Bearer given.by.flag", "Bearer given.by.env"]);
    const bad = await prismctl(["--token", "has space", "kv", "get", "ns", "id"]).done;
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("(INVALID_ARGUMENT)");
  });

  it("logs out: revokes the refresh token, removes the cache, and sends no token afterwards", async () => {
    expect((await deviceLogin(issuer, "alice")).code).toBe(0);
    const revocations = issuer.revokedGrants();
    const logout = await prismctl(["logout"]).done;
    expect(logout.code).toBe(0);
    expect(logout.stdout).toContain(`Logged out of ${issuer.issuer} (refresh token revoked)`);
    expect(issuer.revokedGrants()).toBe(revocations + 1);
    expect(readdirSync(tokenDir())).toEqual([]);
    const whoami = await prismctl(["whoami"]).done;
    expect(whoami.stdout).toContain("token\tnone (not logged in)");
    expect(seen).toEqual([undefined]);
    expect((await prismctl(["logout"]).done).stdout).toContain("not logged in");
  });

  it("says to use --pkce when the issuer has no device code flow", async () => {
    const pkceOnly = await startTestIssuer({ deviceFlow: false });
    try {
      const result = await prismctl(["login", "--issuer", pkceOnly.issuer]).done;
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        "does not offer the device code flow: use --pkce (FAILED_PRECONDITION)",
      );
    } finally {
      await pkceOnly.stop();
    }
  });

  it("refuses a plain-http issuer that is not on loopback, before any request", async () => {
    const result = await prismctl(["login", "--issuer", "http://login.example.com"]).done;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("must use https");
    expect(result.stderr).toContain("(INVALID_ARGUMENT)");
  });
});
