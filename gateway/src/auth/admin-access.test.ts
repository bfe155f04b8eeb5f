import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PrismError } from "@prism/core";
import { describe, expect, it } from "vitest";
import { type ConfigError, loadConfig } from "../config/load-config.js";
import { type NamespaceSpec, namespaceSpecSchema } from "../config/namespace-spec.js";
import { DRIVERS } from "../drivers.js";
import { type AdminAccess, checkGrants, isAdmin } from "./admin-access.js";
import { authConfigSchema, authProblems } from "./auth-config.js";
import { principalOfCertificate } from "./authenticator.js";

const oidc: AdminAccess = { mode: "oidc", adminGroups: ["prism-admins"] };
const alice = { subject: "alice", groups: ["prism-admins", "team-a"] };

const spec = (access?: Partial<NamespaceSpec["access"]>) => ({
  name: "orders",
  pattern: "keyvalue",
  backend: "mem",
  ...(access ? { access: { read: [], write: [], pii: [], ...access } } : {}),
});
const current = (access?: Partial<NamespaceSpec["access"]>) => namespaceSpecSchema.parse(spec(access));

function refusal(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return `${(error as PrismError).kind}:${(error as PrismError).reason}:${(error as PrismError).metadata?.entry}`;
  }
}

describe("isAdmin", () => {
  it("is the loopback operator with auth off, else a member of an admin group", () => {
    expect(isAdmin({ mode: "none", adminGroups: [] }, { subject: "anonymous", groups: [] })).toBe(true);
    expect(isAdmin(oidc, alice)).toBe(true);
    expect(isAdmin(oidc, { subject: "bob", groups: ["team-a"] })).toBe(false);
    expect(isAdmin({ mode: "mtls", adminGroups: [] }, alice)).toBe(false);
  });
});

describe("checkGrants: applying a namespace cannot grant more than the applier holds", () => {
  it("accepts grants to the applier's own groups and subject", () => {
    const grants = spec({
      read: ["group:team-a", "user:alice"],
      write: ["service:alice"],
      pii: ["group:team-a"],
    });
    expect(refusal(() => checkGrants(oidc, alice, grants, undefined))).toBeUndefined();
  });

  it("refuses a group or user the applier is not, naming the entry", () => {
    expect(refusal(() => checkGrants(oidc, alice, spec({ read: ["group:team-b"] }), undefined))).toBe(
      "PermissionDenied:GRANT_EXCEEDS_APPLIER:group:team-b",
    );
    expect(refusal(() => checkGrants(oidc, alice, spec({ pii: ["user:bob"] }), undefined))).toBe(
      "PermissionDenied:GRANT_EXCEEDS_APPLIER:user:bob",
    );
  });

  it("keeps grants the namespace already has on the same list, but not moved to another list", () => {
    const now = current({ read: ["group:team-b"] });
    expect(refusal(() => checkGrants(oidc, alice, spec({ read: ["group:team-b"] }), now))).toBeUndefined();
    expect(refusal(() => checkGrants(oidc, alice, spec({ pii: ["group:team-b"] }), now))).toBe(
      "PermissionDenied:GRANT_EXCEEDS_APPLIER:group:team-b",
    );
  });

  it("refuses opening a namespace to everyone unless it is open already", () => {
    expect(refusal(() => checkGrants(oidc, alice, spec(), undefined))).toBe(
      "PermissionDenied:GRANT_EXCEEDS_APPLIER:*",
    );
    expect(refusal(() => checkGrants(oidc, alice, spec(), current({ read: ["group:team-a"] })))).toBe(
      "PermissionDenied:GRANT_EXCEEDS_APPLIER:*",
    );
    expect(refusal(() => checkGrants(oidc, alice, spec(), current()))).toBeUndefined();
  });

  it("does not apply with auth off, and leaves invalid specs to validation", () => {
    const none: AdminAccess = { mode: "none", adminGroups: [] };
    expect(refusal(() => checkGrants(none, alice, spec({ read: ["group:x"] }), undefined))).toBeUndefined();
    expect(refusal(() => checkGrants(oidc, alice, { name: "BAD NAME" }, undefined))).toBeUndefined();
  });
});

describe("authProblems", () => {
  const dir = mkdtempSync(join(tmpdir(), "prism-auth-"));
  const pem = join(dir, "x.pem");
  writeFileSync(pem, "not checked here");
  const auth = (input: unknown) => authConfigSchema.parse(input);

  it("needs oidc settings for oidc, a client CA for mtls, https unless a loopback test issuer", () => {
    expect(authProblems({ auth: auth({ mode: "oidc" }) })).toEqual([
      "auth.oidc: required when auth.mode is oidc",
    ]);
    expect(authProblems({ auth: auth({ mode: "mtls" }) })).toEqual([
      "tls: required when auth.mode is mtls (certFile, keyFile, clientCaFile)",
    ]);
    expect(authProblems({ auth: auth({ mode: "mtls" }), tls: { certFile: pem, keyFile: pem } })).toEqual([
      "tls.clientCaFile: required when auth.mode is mtls",
    ]);
    expect(
      authProblems({
        auth: auth({ mode: "none" }),
        tls: { certFile: pem, keyFile: join(dir, "missing.pem") },
      }),
    ).toEqual([`tls.keyFile: cannot read ${join(dir, "missing.pem")}`]);
    const issuer = (url: string, allowInsecureHttp = false) =>
      authProblems({ auth: auth({ mode: "oidc", oidc: { issuer: url, audience: "a", allowInsecureHttp } }) });
    expect(issuer("https://id.example.com")).toEqual([]);
    expect(issuer("http://127.0.0.1:9000", true)).toEqual([]);
    expect(issuer("http://127.0.0.1:9000")).toEqual([
      "auth.oidc.issuer: must be https (allowInsecureHttp is for tests)",
    ]);
    expect(issuer("http://id.example.com", true)).toEqual([
      "auth.oidc.issuer: allowInsecureHttp is allowed only for a loopback issuer",
    ]);
  });

  it("are reported by loadConfig with the other problems; a non-loopback listener is fine with auth on", () => {
    const file = join(dir, "gateway.yaml");
    const problems = (yaml: string) => {
      writeFileSync(file, yaml);
      try {
        loadConfig({ file, env: { PRISM_GRPC_ADDR: "0.0.0.0:8980" } }, DRIVERS);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    const backends = "backends: { mem: { type: memory } }\n";
    expect(problems(`${backends}auth: { mode: mtls }\n`)).toEqual([
      "tls: required when auth.mode is mtls (certFile, keyFile, clientCaFile)",
    ]);
    expect(
      problems(
        `${backends}auth: { mode: oidc, oidc: { issuer: "https://id.example.com", audience: prism } }\n`,
      ),
    ).toEqual([]);
    expect(
      problems(
        `${backends}auth: { mode: oidc, oidc: { issuer: "https://id.example.com", audience: prism, algorithms: [HS256] } }\n`,
      ),
    ).toHaveLength(1);
  });

  it("never allows none or HMAC algorithms, and bounds the clock skew", () => {
    const oidcWith = (extra: object) =>
      authConfigSchema.safeParse({
        mode: "oidc",
        oidc: { issuer: "https://i.example", audience: "a", ...extra },
      }).success;
    expect(oidcWith({ algorithms: ["RS256", "EdDSA"] })).toBe(true);
    expect(oidcWith({ algorithms: ["none"] })).toBe(false);
    expect(oidcWith({ algorithms: ["HS256"] })).toBe(false);
    expect(oidcWith({ clockSkewSeconds: 3600 })).toBe(false);
  });
});

describe("principalOfCertificate", () => {
  const cert = (subject: Record<string, string | string[]>) =>
    ({ subject }) as unknown as Parameters<typeof principalOfCertificate>[0];
  it("takes CN as the subject and each OU as a group", () => {
    expect(principalOfCertificate(cert({ CN: "svc-orders", OU: ["team-a", "prism-admins"] }))).toEqual({
      subject: "svc-orders",
      groups: ["team-a", "prism-admins"],
    });
    expect(principalOfCertificate(cert({ CN: "svc-x", OU: "team-a" })).groups).toEqual(["team-a"]);
    expect(refusal(() => principalOfCertificate(undefined))).toBe(
      "Unauthenticated:CLIENT_CERT_MISSING:undefined",
    );
    expect(refusal(() => principalOfCertificate(cert({ O: "acme" })))).toBe(
      "Unauthenticated:CLIENT_CERT_INVALID:undefined",
    );
  });
});
