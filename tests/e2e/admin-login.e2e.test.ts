import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiError, NamespaceList, Session } from "../../admin/src/api-types.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { startTestIssuer, TEST_ADMIN_CLIENT_ID, type TestIssuer } from "../support/oidc-issuer.js";
import { WebClient } from "../support/web-client.js";

/**
 * The admin UI with auth on: operators sign in at the real test issuer (authorization code +
 * PKCE), get a fresh HttpOnly session cookie, and act with their own token — so the gateway's
 * admin-group check decides, not the UI. Signed out, nothing but the session answer is served.
 */

let issuer: TestIssuer;
let gateway: GatewayProcess;
let origin: string;

beforeAll(async () => {
  issuer = await startTestIssuer();
  gateway = await startGatewayProcess({
    auth: {
      mode: "oidc",
      oidc: { issuer: issuer.issuer, audience: issuer.audience, allowInsecureHttp: true },
      adminGroups: ["prism-admins"],
    },
    admin: { oidc: { clientId: TEST_ADMIN_CLIENT_ID } },
    backends: { mem: { type: "memory" } },
    namespaces: [{ name: "ledger", pattern: "keyvalue", backend: "mem" }],
  });
  origin = `http://${await gateway.adminAddress()}`;
});
afterAll(async () => {
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
  await issuer?.stop();
});

/** Signs `user` in the way a browser does: /auth/login → the issuer's forms → /auth/callback. */
async function signIn(user: string): Promise<{ web: WebClient; preLoginCookie: string; setCookie: string }> {
  const web = new WebClient(origin);
  await web.session();
  const preLoginCookie = web.cookies.get("prism_admin")!;
  const login = await web.request("GET", "/auth/login");
  expect(login.status).toBe(302);
  const authorization = new URL(login.headers.get("location")!);
  expect(authorization.origin).toBe(issuer.issuer);
  expect(authorization.searchParams.get("code_challenge_method")).toBe("S256");
  const callback = await issuer.authorize(authorization.href, user);
  expect(callback.pathname).toBe("/auth/callback");
  const done = await web.request("GET", `${callback.pathname}${callback.search}`);
  expect(done.status).toBe(302);
  expect(done.headers.get("location")).toBe("/");
  const setCookie = done.headers.getSetCookie().join("\n");
  await web.session();
  return { web, preLoginCookie, setCookie };
}

describe("admin UI login", () => {
  it("serves nothing but the session answer before sign-in", async () => {
    const web = new WebClient(origin);
    const session = await web.session<Session>();
    expect(session.authRequired).toBe(true);
    expect(session.user).toBeUndefined();
    const { status, body } = await web.json<ApiError>("GET", "/api/namespaces");
    expect(status).toBe(401);
    expect(body.error.code).toBe("UNAUTHENTICATED");
  });

  it("signs an admin in with a fresh HttpOnly session and calls the gateway with their token", async () => {
    const { web, preLoginCookie, setCookie } = await signIn("root");
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(web.cookies.get("prism_admin")).not.toBe(preLoginCookie);
    const session = await web.session<Session>();
    expect(session.user).toMatchObject({ subject: "root", groups: ["prism-admins"], admin: true });
    const list = await web.json<NamespaceList>("GET", "/api/namespaces");
    expect(list.status).toBe(200);
    expect(list.body.namespaces.map((n) => n.name)).toEqual(["ledger"]);

    // The pre-login session id is worthless now (no fixation).
    const fixated = new WebClient(origin);
    fixated.cookies.set("prism_admin", preLoginCookie);
    expect((await fixated.json("GET", "/api/namespaces")).status).toBe(401);

    // Signing out ends the session.
    expect((await web.json("POST", "/auth/logout", {})).status).toBe(200);
    expect((await web.json("GET", "/api/namespaces")).status).toBe(401);
  });

  it("leaves the admin-group decision to the gateway", async () => {
    const { web } = await signIn("alice");
    expect((await web.session<Session>()).user).toMatchObject({ subject: "alice", admin: false });
    const { status, body } = await web.json<ApiError>("GET", "/api/namespaces");
    expect(status).toBe(403);
    expect(body.error.reason).toBe("ADMIN_REQUIRED");
  });

  it("refuses a callback that no login in this browser started", async () => {
    const attacker = await signInUrl();
    const victim = new WebClient(origin);
    await victim.session();
    const answer = await victim.request("GET", `${attacker.pathname}${attacker.search}`);
    expect(answer.status).toBe(401);
    expect((await victim.json("GET", "/api/namespaces")).status).toBe(401);
  });
});

/** A valid callback URL of someone else's login (a login CSRF attempt). */
async function signInUrl(): Promise<URL> {
  const web = new WebClient(origin);
  await web.session();
  const login = await web.request("GET", "/auth/login");
  return issuer.authorize(login.headers.get("location")!, "root");
}
