import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { createPromiseClient } from "@prism/proto/grpc";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  ApiError,
  ApplyResult,
  BackendList,
  BackfillView,
  NamespaceDetail,
  NamespaceList,
  ShadowView,
  TrafficHistory,
  TrafficTick,
} from "../../admin/src/api-types.js";
import { b } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { WebClient } from "../support/web-client.js";

/**
 * The admin web server's JSON API, through a gateway process with auth off (the embedded
 * default's mode): the page and its headers, the CSRF and Host checks, namespaces applied with
 * inline violations, live traffic over Server-Sent Events (one GetTraffic a second whatever the
 * number of watchers), and a migration started, backfilled and promoted from the API.
 */

let gateway: GatewayProcess;
let web: WebClient;
let origin: string;

beforeAll(async () => {
  gateway = await startGatewayProcess({
    backends: { mem: { type: "memory" }, local: { type: "sqlite", path: "admin-api.db" } },
    namespaces: [{ name: "catalog", pattern: "keyvalue", backend: "mem" }],
  });
  origin = `http://${await gateway.adminAddress()}`;
  web = new WebClient(origin);
  await web.session();
  // Applied through the API (a namespace of the config file is read-only: no migration).
  const applied = await web.json("POST", "/api/namespaces", {
    yaml: "name: orders\npattern: keyvalue\nbackend: mem\n",
  });
  expect(applied.status).toBe(200);
});
afterAll(async () => {
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

describe("the page", () => {
  it("serves the UI with its script, behind a strict content security policy", async () => {
    const page = await web.request("GET", "/namespaces");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const html = await page.text();
    const script = /src="(\/assets\/app\.[0-9a-f]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await web.request("GET", script!);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await js.text()).length).toBeGreaterThan(10_000);
  });
});

describe("request checks", () => {
  it("refuses mutations without the session's CSRF token or from another origin", async () => {
    const noToken = await web.request("DELETE", "/api/namespaces/orders", {
      headers: { "x-csrf-token": "" },
    });
    expect(noToken.status).toBe(403);
    expect(((await noToken.json()) as ApiError).error.code).toBe("CSRF");
    const foreign = await web.request("DELETE", "/api/namespaces/orders", {
      headers: { origin: "http://evil.example" },
    });
    expect(foreign.status).toBe(403);
    const stranger = new WebClient(origin);
    expect((await stranger.json("GET", "/api/namespaces")).status).toBe(401);
    expect(
      (await web.json<NamespaceList>("GET", "/api/namespaces")).body.namespaces.map((n) => n.name),
    ).toContain("orders");
  });

  it("answers only under its own host name (DNS rebinding)", async () => {
    // fetch may not set Host; node:http may.
    const status = (host: string) =>
      new Promise<number | undefined>((resolve, reject) =>
        request(`${origin}/api/session`, { headers: { host } }, (response) => {
          response.resume();
          resolve(response.statusCode);
        })
          .on("error", reject)
          .end(),
      );
    expect(await status("attacker.example:80")).toBe(421);
    expect(await status(new URL(origin).host)).toBe(200);
  });
});

describe("namespaces", () => {
  it("reports every problem of a bad namespace as a field violation", async () => {
    const { status, body } = await web.json<ApiError>("POST", "/api/namespaces", {
      yaml: "name: carts\npattern: keyvalue\nbackend: nowhere\nlimits: { rps: -1 }\n",
    });
    expect(status).toBe(400);
    expect(body.error.reason).toBe("INVALID_NAMESPACE");
    expect(body.error.violations.map((v) => v.field).sort()).toEqual(["backend", "limits.rps"]);
  });

  it("validates, applies, shows and deletes a namespace", async () => {
    const yaml = "name: carts\npattern: keyvalue\nbackend: mem\nlimits: { rps: 500 }\n";
    const dry = await web.json<ApplyResult>("POST", "/api/namespaces", { yaml, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    expect((await web.json("GET", "/api/namespaces/carts")).status).toBe(404);
    const applied = await web.json<ApplyResult>("POST", "/api/namespaces", { yaml });
    expect(applied.body).toMatchObject({ created: true, namespace: { name: "carts", limits: { rps: 500 } } });
    const detail = await web.json<NamespaceDetail>("GET", "/api/namespaces/carts");
    expect(detail.body.yaml).toContain("rps: 500");
    expect(detail.body.namespace.source).toBe("store");
    expect((await web.json("DELETE", "/api/namespaces/carts")).status).toBe(200);
    expect((await web.json("GET", "/api/namespaces/carts")).status).toBe(404);
  });

  it("lists backends with their health", async () => {
    const { body } = await web.json<BackendList>("GET", "/api/backends");
    expect(body.backends.map((backend) => [backend.name, backend.health])).toEqual([
      ["local", "serving"],
      ["mem", "serving"],
    ]);
  });
});

describe("live traffic", () => {
  it("streams requests/s per namespace while calls flow, polling the gateway once a second", async () => {
    const kv = createPromiseClient(KeyValueService, { address: gateway.address });
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await kv.put({ namespace: "orders", id: `o-${i % 50}`, items: [{ key: b(""), value: b(`v${i}`) }] });
        await sleep(10);
      }
    })();
    const getTraffic = async () => {
      const response = await fetch(`http://${await gateway.metricsAddress()}/metrics`);
      const families = parsePrometheusTextFormat(await response.text());
      const requests = families.find((f) => f.name === "prism_requests_total");
      return (requests?.metrics ?? [])
        .filter((m) => (m.labels as Record<string, string>).method === "AdminService/GetTraffic")
        .reduce((sum, m) => sum + Number((m as { value: string }).value), 0);
    };
    try {
      // Three watchers at once, as three browser tabs.
      const before = await getTraffic();
      const started = Date.now();
      const watchers = await Promise.all(
        [1, 2, 3].map(() =>
          web.events("/api/traffic/stream", (e) => {
            const tick = e.data as TrafficTick;
            return e.event === "tick" && (tick.points.orders?.rps ?? 0) > 10;
          }),
        ),
      );
      const seconds = (Date.now() - started) / 1000;
      const polls = (await getTraffic()) - before;
      for (const events of watchers) {
        expect(events[0]?.event).toBe("history");
        const last = events.at(-1)!.data as TrafficTick;
        expect(last.points.orders!.rps).toBeGreaterThan(10);
        expect(last.points.orders!.p99Ms).toBeGreaterThan(0);
      }
      expect(polls).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
      const history = await web.json<TrafficHistory>("GET", "/api/traffic");
      expect(history.body.namespaces.orders?.length).toBeGreaterThan(0);
      expect(
        (await web.json<NamespaceList>("GET", "/api/namespaces")).body.namespaces.find(
          (n) => n.name === "orders",
        )?.requestRate,
      ).toBeGreaterThan(0);
    } finally {
      writing = false;
      await writer;
      kv.close();
    }
  });
});

describe("a migration from the API", () => {
  it("starts a shadow, refuses an unsafe promotion, backfills and promotes", async () => {
    const kv = createPromiseClient(KeyValueService, { address: gateway.address });
    for (let i = 0; i < 200; i++) {
      await kv.put({ namespace: "orders", id: `m-${i}`, items: [{ key: b(""), value: b(`value ${i}`) }] });
    }
    const before = await web.json<ShadowView>("GET", "/api/shadow/orders");
    expect(before.body).toMatchObject({ primary: "mem", pattern: "keyvalue", writes: { ok: 0 } });
    expect(before.body.shadow).toBeUndefined();
    const started = await web.json<ShadowView>("POST", "/api/shadow/orders/start", {
      backend: "local",
      mode: "dual-write",
    });
    expect(started.body).not.toHaveProperty("error");
    expect(started.status).toBe(200);
    expect(started.body.shadow).toMatchObject({ backend: "local", mode: "dual-write" });

    const unsafe = await web.json<ApiError>("POST", "/api/shadow/orders/promote", {});
    expect(unsafe.status).toBe(412);
    expect(unsafe.body.error.reason).toBe("SHADOW_PROMOTE_UNSAFE");
    expect(unsafe.body.error.hint).toBeDefined();

    const job = await web.json<BackfillView>("POST", "/api/backfill", { namespace: "orders" });
    expect(job.status).toBe(200);
    let view = job.body;
    for (let i = 0; i < 100 && view.state === "running"; i++) {
      await sleep(100);
      view = (await web.json<BackfillView>("GET", `/api/backfill/${job.body.id}`)).body;
    }
    expect(view.state).toBe("succeeded");
    expect(view.done).toBeGreaterThanOrEqual(200);
    expect((await web.json<ShadowView>("GET", "/api/shadow/orders")).body.backfill?.id).toBe(job.body.id);

    const promoted = await web.json<ShadowView>("POST", "/api/shadow/orders/promote", {});
    expect(promoted.status).toBe(200);
    expect(promoted.body.primary).toBe("local");
    const value = await kv.get({ namespace: "orders", id: "m-199" });
    expect(Buffer.from(value.items[0]!.value).toString()).toBe("value 199");
    const rolledBack = await web.json<ShadowView>("POST", "/api/shadow/orders/rollback", { force: true });
    expect(rolledBack.body.primary).toBe("mem");
    const stopped = await web.json<ShadowView>("POST", "/api/shadow/orders/stop", {});
    expect(stopped.status).toBe(200);
    expect(stopped.body.shadow).toBeUndefined();
    kv.close();
  });
});
