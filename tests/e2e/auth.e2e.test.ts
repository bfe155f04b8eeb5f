import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { credentials, status } from "@grpc/grpc-js";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { Health, HealthCheckResponse_ServingStatus } from "@prism/proto/grpc/health/v1/health";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { GraphService } from "@prism/proto/prism/graph/v1/graph";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b, s } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { runPrismctl } from "../support/prismctl.js";
import { rpcFailure } from "../support/rpc-errors.js";
import { createTestCa, type TestCa } from "../support/test-certs.js";
import { MINTER_AUDIENCE, newKey, startTokenMinter, type TokenMinter } from "../support/token-minter.js";

/**
 * Authentication and authorization end to end: a gateway process with `auth.mode: oidc` (tokens
 * minted with jose against a JWKS on 127.0.0.1) and one with `mtls` (certificates made at test
 * time), every pattern called with and without access, AdminService with and without the admin
 * group, every bad token refused with its reason, and metadata fuzzing.
 */
const NAMESPACES = [
  {
    name: "kv",
    pattern: "keyvalue",
    backend: "mem",
    access: { read: ["group:readers"], write: ["group:writers"] },
  },
  {
    name: "ts",
    pattern: "timeseries",
    backend: "mem",
    access: { read: ["group:readers"], write: ["group:writers"] },
  },
  {
    name: "g",
    pattern: "graph",
    backend: "mem",
    access: { read: ["group:readers"], write: ["group:writers"] },
  },
];

type Clients = {
  kv: PromiseClient<typeof KeyValueService.method>;
  ts: PromiseClient<typeof TimeSeriesService.method>;
  graph: PromiseClient<typeof GraphService.method>;
  admin: PromiseClient<typeof AdminService.method>;
  health: PromiseClient<typeof Health.method>;
  close(): void;
};

function clients(
  address: string,
  options: { headers?: Record<string, string>; creds?: ReturnType<typeof credentials.createSsl> } = {},
): Clients {
  const target = {
    address,
    ...(options.headers && { headers: options.headers }),
    ...(options.creds && { credentials: options.creds }),
  };
  const made = {
    kv: createPromiseClient(KeyValueService, target),
    ts: createPromiseClient(TimeSeriesService, target),
    graph: createPromiseClient(GraphService, target),
    admin: createPromiseClient(AdminService, target),
    health: createPromiseClient(Health, target),
  };
  return {
    ...made,
    close: () => {
      for (const client of Object.values(made)) client.close();
    },
  };
}

const event = (id: string) => ({
  eventTime: timestampFromMs(Date.now() - 1000),
  eventId: id,
  payload: b(id),
});

/** Calls each pattern's write and read; what each must answer is up to the caller's assertions. */
async function exercise(c: Clients) {
  const settle = (p: Promise<unknown>) =>
    p.then(
      () => "OK",
      (e: { code: number }) => status[e.code],
    );
  return {
    kvWrite: await settle(c.kv.put({ namespace: "kv", id: "r1", items: [{ key: b(""), value: b("v1") }] })),
    kvRead: await settle(c.kv.get({ namespace: "kv", id: "r1" })),
    tsWrite: await settle(c.ts.write({ namespace: "ts", seriesId: "s1", events: [event("e1")] })),
    tsRead: await settle(c.ts.read({ namespace: "ts", seriesId: "s1" })),
    graphWrite: await settle(c.graph.upsertNodes({ namespace: "g", nodes: [{ id: "n1", label: "thing" }] })),
    graphRead: await settle(c.graph.getNodes({ namespace: "g", ids: ["n1"] })),
    admin: await settle(c.admin.listNamespaces({})),
  };
}

describe("auth.mode oidc", () => {
  let minter: TokenMinter;
  let gateway: GatewayProcess;
  const open: Clients[] = [];
  const as = async (claims: Record<string, unknown>) => {
    const c = clients(gateway.address, { headers: { authorization: `Bearer ${await minter.mint(claims)}` } });
    open.push(c);
    return c;
  };
  const anonymous = () => {
    const c = clients(gateway.address);
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    minter = await startTokenMinter();
    gateway = await startGatewayProcess({
      backends: { mem: { type: "memory" } },
      namespaces: NAMESPACES,
      auth: {
        mode: "oidc",
        oidc: { issuer: minter.issuer, audience: MINTER_AUDIENCE, allowInsecureHttp: true },
        adminGroups: ["prism-admins"],
      },
      logLevel: "debug",
    });
  }, 60_000);
  afterAll(async () => {
    for (const c of open) c.close();
    await gateway?.stop();
    await minter?.stop();
    if (gateway) removeDataDir(gateway.dataDir);
  });

  it("lets each group do what its lists say, on every pattern", async () => {
    const writer = await as({ sub: "wendy", groups: ["writers"] });
    const reader = await as({ sub: "rita", groups: ["readers"] });
    const both = await as({ sub: "bo", groups: ["readers", "writers"] });
    const stranger = await as({ sub: "sam", groups: ["elsewhere"] });
    expect(await exercise(writer)).toEqual({
      kvWrite: "OK",
      kvRead: "PERMISSION_DENIED",
      tsWrite: "OK",
      tsRead: "PERMISSION_DENIED",
      graphWrite: "OK",
      graphRead: "PERMISSION_DENIED",
      admin: "PERMISSION_DENIED",
    });
    expect(await exercise(reader)).toMatchObject({
      kvWrite: "PERMISSION_DENIED",
      kvRead: "OK",
      tsWrite: "PERMISSION_DENIED",
      tsRead: "OK",
      graphWrite: "PERMISSION_DENIED",
      graphRead: "OK",
    });
    expect(await exercise(stranger)).toEqual({
      kvWrite: "PERMISSION_DENIED",
      kvRead: "PERMISSION_DENIED",
      tsWrite: "PERMISSION_DENIED",
      tsRead: "PERMISSION_DENIED",
      graphWrite: "PERMISSION_DENIED",
      graphRead: "PERMISSION_DENIED",
      admin: "PERMISSION_DENIED",
    });
    const got = await both.kv.get({ namespace: "kv", id: "r1" });
    expect(got.items.map((item) => s(item.value))).toEqual(["v1"]);
    const nodes = await both.graph.getNodes({ namespace: "g", ids: ["n1"] });
    expect(nodes.nodes.map((n) => n.id)).toEqual(["n1"]);
  });

  it("AdminService needs the admin group; WhoAmI does not", async () => {
    const user = await as({ sub: "rita", groups: ["readers"] });
    const admin = await as({ sub: "ada", groups: ["prism-admins", "readers"] });
    const denied = await rpcFailure(user.admin.listNamespaces({}), status.PERMISSION_DENIED);
    expect(denied.details.reason).toBe("ADMIN_REQUIRED");
    await rpcFailure(user.admin.listBackends({}), status.PERMISSION_DENIED);
    expect((await admin.admin.listNamespaces({})).namespaces.map((n) => n.name)).toEqual(
      expect.arrayContaining(["kv", "ts", "g"]),
    );
    expect(await user.admin.whoAmI({})).toMatchObject({
      subject: "rita",
      groups: ["readers"],
      admin: false,
      authMode: "oidc",
    });
    expect(await admin.admin.whoAmI({})).toMatchObject({ subject: "ada", admin: true });
  });

  it("ApplyNamespace cannot grant the applier more than they hold", async () => {
    const admin = await as({ sub: "ada", groups: ["prism-admins", "readers"] });
    const spec = (read: string[]) =>
      `name: applied\npattern: keyvalue\nbackend: mem\naccess:\n  read: [${read.join(", ")}]\n  write: [user:ada]\n`;
    const refused = await rpcFailure(
      admin.admin.applyNamespace({ spec: { case: "yaml", value: spec(["group:readers", "group:payroll"]) } }),
      status.PERMISSION_DENIED,
    );
    expect(refused.details).toMatchObject({
      reason: "GRANT_EXCEEDS_APPLIER",
      metadata: { entry: "group:payroll" },
    });
    const openNs = await rpcFailure(
      admin.admin.applyNamespace({
        spec: { case: "yaml", value: "name: open-ns\npattern: keyvalue\nbackend: mem\n" },
      }),
      status.PERMISSION_DENIED,
    );
    expect(openNs.details.reason).toBe("GRANT_EXCEEDS_APPLIER");
    const applied = await admin.admin.applyNamespace({
      spec: { case: "yaml", value: spec(["group:readers"]) },
    });
    expect(applied.namespace?.access?.read).toEqual(["group:readers"]);
  });

  it("refuses every bad token with UNAUTHENTICATED and its reason, never a stack", async () => {
    const now = Math.floor(Date.now() / 1000);
    const stranger = await newKey("key-1"); // the published kid, another key: a forged signature
    const unknown = await newKey("key-unknown");
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const claims = {
      sub: "mallory",
      iss: minter.issuer,
      aud: MINTER_AUDIENCE,
      exp: now + 3600,
      groups: ["writers"],
    };
    const cases: [string, string | undefined][] = [
      ["TOKEN_MISSING", undefined],
      ["TOKEN_SIGNATURE", await minter.mint({ groups: ["writers"] }, stranger)],
      ["TOKEN_ALGORITHM", `${b64({ alg: "none", kid: "key-1" })}.${b64(claims)}.`],
      ["TOKEN_EXPIRED", await minter.mint({ exp: now - 600 })],
      ["TOKEN_NOT_YET_VALID", await minter.mint({ nbf: now + 600 })],
      ["TOKEN_ISSUER", await minter.mint({ iss: "https://issuer.invalid" })],
      ["TOKEN_AUDIENCE", await minter.mint({ aud: "another-service" })],
      ["TOKEN_KEY_UNKNOWN", await minter.mint({}, unknown)],
      ["TOKEN_MALFORMED", "garbage"],
      ["TOKEN_MALFORMED", `${b64({ alg: "RS256" })}.%%%not-base64%%%.x`],
      ["TOKEN_MALFORMED", "eyJub3QganNvbg.eyJub3QganNvbg.c2ln"],
    ];
    for (const [reason, token] of cases) {
      const c = clients(
        gateway.address,
        token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
      );
      open.push(c);
      const failure = await rpcFailure(c.kv.get({ namespace: "kv", id: "r1" }), status.UNAUTHENTICATED);
      expect(failure.details.reason, `${reason}: ${failure.message}`).toBe(reason);
      expect(failure.message).not.toMatch(/\n\s+at |Error:/);
      // Health and reflection need no token… but WhoAmI does.
      await rpcFailure(c.admin.whoAmI({}), status.UNAUTHENTICATED);
    }
    // Tokens never reach the log, even at debug level.
    expect(gateway.output()).not.toContain(cases[1]![1]!.split(".")[2]!);
  });

  it("survives fuzzed metadata: huge and many headers, broken tokens; keeps answering health", async () => {
    const probes: Record<string, string>[] = [
      { authorization: `Bearer ${"A".repeat(7000)}` },
      { authorization: "Bearer ....." },
      { authorization: `Bearer ${"eyJ".repeat(10)}.${"%".repeat(50)}.${"{}[]~".repeat(10)}` },
      { authorization: "Bearer e30.e30.e30" },
      { authorization: "Bearer" },
      { authorization: "   " },
      Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`x-fuzz-${i}`, "v".repeat(20)])),
      { authorization: `Bearer ${"x".repeat(20_000)}` },
      { "x-huge": "h".repeat(200_000) },
    ];
    for (const headers of probes) {
      const c = clients(gateway.address, { headers });
      open.push(c);
      const failure = await rpcFailure(c.kv.get({ namespace: "kv", id: "r1" }));
      // The gateway's own refusal when the header reaches it; grpc-js's size limit otherwise.
      expect(
        [status.UNAUTHENTICATED, status.RESOURCE_EXHAUSTED, status.INTERNAL],
        JSON.stringify(failure).slice(0, 300),
      ).toContain(failure.code);
      if (failure.code === status.UNAUTHENTICATED) {
        expect(["TOKEN_MISSING", "TOKEN_MALFORMED"]).toContain(failure.details.reason);
      }
      const health = anonymous();
      expect((await health.health.check({ service: "" })).status).toBe(
        HealthCheckResponse_ServingStatus.SERVING,
      );
    }
    expect(gateway.child.exitCode).toBeNull();
  });
});

describe("auth.mode mtls", () => {
  let ca: TestCa;
  let gateway: GatewayProcess;
  const open: Clients[] = [];
  const withCert = (cn: string, groups: string[]) => {
    const cert = ca.client(cn, groups);
    const c = clients(gateway.address.replace("127.0.0.1", "localhost"), {
      creds: credentials.createSsl(
        Buffer.from(ca.certPem),
        Buffer.from(cert.keyPem),
        Buffer.from(cert.certPem),
      ),
    });
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    ca = createTestCa();
    const server = ca.server();
    gateway = await startGatewayProcess({
      backends: { mem: { type: "memory" } },
      namespaces: NAMESPACES,
      auth: { mode: "mtls", adminGroups: ["prism-admins"] },
      tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: ca.certFile },
    });
  }, 60_000);
  afterAll(async () => {
    for (const c of open) c.close();
    await gateway?.stop();
    if (gateway) removeDataDir(gateway.dataDir);
  });

  it("takes the subject from CN and groups from OU; access lists and admin apply", async () => {
    const writer = withCert("svc-writer", ["writers"]);
    const admin = withCert("svc-ops", ["readers", "prism-admins"]);
    expect(await exercise(writer)).toEqual({
      kvWrite: "OK",
      kvRead: "PERMISSION_DENIED",
      tsWrite: "OK",
      tsRead: "PERMISSION_DENIED",
      graphWrite: "OK",
      graphRead: "PERMISSION_DENIED",
      admin: "PERMISSION_DENIED",
    });
    expect(await exercise(admin)).toMatchObject({ kvRead: "OK", tsRead: "OK", graphRead: "OK", admin: "OK" });
    expect(await admin.admin.whoAmI({})).toMatchObject({
      subject: "svc-ops",
      groups: ["readers", "prism-admins"],
      admin: true,
      authMode: "mtls",
    });
  });

  it("prismctl talks to it with --tls-ca, --tls-cert and --tls-key, and is refused without a certificate", async () => {
    const cert = ca.client("svc-ops", ["readers", "prism-admins"]);
    const address = gateway.address.replace("127.0.0.1", "localhost");
    const tls = ["--tls-ca", ca.certFile, "--tls-cert", cert.certFile, "--tls-key", cert.keyFile];
    const who = await runPrismctl(address, [...tls, "whoami"]);
    expect(who.code, who.stderr).toBe(0);
    expect(who.stdout).toContain("subject\tsvc-ops\ngroups\treaders,prism-admins\nadmin\tyes\nauth\tmtls\n");
    expect((await runPrismctl(address, [...tls, "kv", "get", "kv", "id-1"])).code).toBe(0);
    const noCert = await runPrismctl(address, ["--tls-ca", ca.certFile, "whoami"]);
    expect(noCert.code).toBe(5);
    const plaintext = await runPrismctl(address, ["whoami"]);
    expect(plaintext.code).toBe(5);
    const half = await runPrismctl(address, ["--tls-ca", ca.certFile, "--tls-cert", cert.certFile, "whoami"]);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain("--tls-cert and --tls-key go together");
  });

  it("refuses a client without a certificate, or with one from another CA, at the handshake", async () => {
    const noCert = clients(gateway.address.replace("127.0.0.1", "localhost"), {
      creds: credentials.createSsl(Buffer.from(ca.certPem)),
    });
    open.push(noCert);
    await rpcFailure(noCert.kv.get({ namespace: "kv", id: "r1" }, { timeoutMs: 5000 }), status.UNAVAILABLE);
    const other = createTestCa();
    const foreign = other.client("svc-writer", ["writers"]);
    const forged = clients(gateway.address.replace("127.0.0.1", "localhost"), {
      creds: credentials.createSsl(
        Buffer.from(ca.certPem),
        Buffer.from(foreign.keyPem),
        Buffer.from(foreign.certPem),
      ),
    });
    open.push(forged);
    await rpcFailure(forged.kv.get({ namespace: "kv", id: "r1" }, { timeoutMs: 5000 }), status.UNAVAILABLE);
    // Plaintext does not reach it either.
    const plain = clients(gateway.address);
    open.push(plain);
    await rpcFailure(plain.kv.get({ namespace: "kv", id: "r1" }, { timeoutMs: 5000 }));
  });
});
