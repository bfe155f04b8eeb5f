import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createPromiseClient } from "@prism/proto/grpc";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { chromiumBinary } from "@prism/stack";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { startTestIssuer, TEST_ADMIN_CLIENT_ID } from "../support/oidc-issuer.js";

/**
 * The admin UI in a real browser (Debian's Chromium driven by playwright-core) against a gateway
 * process: apply a namespace from the YAML editor (violations marked inline first), watch its
 * chart move under load, start a shadow, run a backfill and promote — then the same pages at
 * phone width, and the nav by keyboard. Screenshots go to tests/artifacts/admin-ui/. Any console
 * error fails the test, except the browser's own line for an HTTP error the test provoked.
 */

const ARTIFACTS = resolve(import.meta.dirname, "../artifacts/admin-ui");
let gateway: GatewayProcess;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  const executablePath = chromiumBinary();
  if (!executablePath)
    throw new Error("chromium is missing: run pnpm stack install (it installs Debian's chromium)");
  mkdirSync(ARTIFACTS, { recursive: true });
  gateway = await startGatewayProcess({
    backends: { mem: { type: "memory" }, local: { type: "sqlite", path: "browser.db" } },
    namespaces: [{ name: "catalog", pattern: "keyvalue", backend: "mem" }],
  });
  origin = `http://${await gateway.adminAddress()}`;
  browser = await chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-dev-shm-usage",
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

/**
 * A page that records console errors and warnings of the admin UI (not of the identity
 * provider's own pages) and uncaught exceptions.
 */
async function openPage(viewport: {
  width: number;
  height: number;
}): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() !== "error" && message.type() !== "warning") return;
    const from = message.location().url || page.url();
    if (!from.startsWith("http://127.0.0.1:") || isIssuerPage(from)) return;
    errors.push(`${message.text()} (${from})`);
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return { page, errors };
}

/** The test issuer's pages (login, consent) live under its own port; ours are the admin UI's. */
let issuerOrigin = "";
const isIssuerPage = (url: string) => issuerOrigin !== "" && url.startsWith(issuerOrigin);

/** Console errors other than Chromium's line for an HTTP status the test provoked on purpose. */
const unexpected = (errors: string[]) =>
  errors.filter(
    (text) => !/Failed to load resource: the server responded with a status of (400|412)/.test(text),
  );

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

describe("the admin UI in a browser", () => {
  it("applies a namespace, charts its traffic, backfills a shadow and promotes it", async () => {
    const { page, errors } = await openPage({ width: 1280, height: 800 });
    await page.goto(`${origin}/#/namespaces`);
    await page.getByTestId("namespace-row-catalog").waitFor();

    // The YAML editor: a bad namespace first, each problem marked.
    await page.getByTestId("new-namespace").click();
    const editor = page.getByTestId("yaml-editor");
    await editor.fill("name: shop\npattern: keyvalue\nbackend: nowhere\nlimits:\n  rps: -5\n");
    await page.getByTestId("validate").click();
    const violations = page.getByTestId("violation");
    await violations.first().waitFor();
    const texts = await violations.allInnerTexts();
    expect(texts.some((t) => t.includes("line 3") && t.includes("backend"))).toBe(true);
    expect(texts.some((t) => t.includes("line 5") && t.includes("limits.rps"))).toBe(true);
    await shot(page, "1-yaml-violations");

    await editor.fill("name: shop\npattern: keyvalue\nbackend: mem\n");
    await page.getByTestId("apply").click();
    await page.getByTestId("apply-ok").waitFor();

    // Load through the gateway; the chart gains points without a reload.
    const kv = createPromiseClient(KeyValueService, { address: gateway.address });
    for (let i = 0; i < 300; i++) {
      await kv.put({ namespace: "shop", id: `item-${i}`, items: [{ key: b(""), value: b(`price ${i}`) }] });
    }
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await kv.put({
          namespace: "shop",
          id: `item-${i % 300}`,
          items: [{ key: b(""), value: b(`price ${i}`) }],
        });
        await sleep(5);
      }
    })();
    try {
      await page.getByTestId("nav-traffic").click();
      const chart = page.getByTestId("chart-shop");
      await chart.waitFor();
      const points = async () => Number((await chart.getAttribute("data-points")) ?? 0);
      const first = await points();
      await expect.poll(points, { timeout: 15_000 }).toBeGreaterThan(first + 2);
      await expect
        .poll(
          async () => Number.parseFloat((await page.getByTestId("traffic-rps-shop").textContent()) ?? ""),
          {
            timeout: 10_000,
          },
        )
        .toBeGreaterThan(5);
      await shot(page, "2-traffic-under-load");

      // A migration: shadow on SQLite, backfill, promote — each behind its confirmation.
      await page.goto(`${origin}/#/migrations/shop`);
      await page.getByTestId("start-shadow").click();
      await page.getByLabel("Shadow backend").selectOption("local");
      await page.getByTestId("confirm-ok").click();
      await expect
        .poll(() => page.getByTestId("shadow-mode").textContent(), { timeout: 10_000 })
        .toBe("dual-write");

      await page.getByTestId("start-backfill").click();
      await page.getByTestId("confirm-ok").click();
      await expect
        .poll(() => page.getByTestId("backfill-state").textContent(), { timeout: 30_000 })
        .toContain("succeeded");
      expect(
        Number(await page.getByTestId("backfill-progress").getAttribute("value")),
      ).toBeGreaterThanOrEqual(300);
      await shot(page, "3-backfill-done");

      await page.getByTestId("promote").click();
      await page.getByTestId("confirm-ok").click();
      await expect
        .poll(() => page.getByTestId("shadow-primary").textContent(), { timeout: 10_000 })
        .toBe("local");
      await shot(page, "4-promoted");
    } finally {
      writing = false;
      await writer;
      kv.close();
    }
    const admin = createPromiseClient(AdminService, { address: gateway.address });
    expect((await admin.getNamespace({ name: "shop" })).namespace?.backend).toBe("local");
    admin.close();
    expect(unexpected(errors)).toEqual([]);
  });

  it("fits a phone-width screen", async () => {
    const { page, errors } = await openPage({ width: 390, height: 844 });
    for (const route of ["namespaces", "backends", "traffic", "migrations/shop", "audit"]) {
      await page.goto(`${origin}/#/${route}`);
      await page.locator("main").waitFor();
      await page.waitForLoadState("networkidle").catch(() => {});
      // Evaluated in the page (a string: this file is typed for Node, not the DOM).
      const overflow = await page.evaluate<number>(
        "document.documentElement.scrollWidth - window.innerWidth",
      );
      expect(overflow, route).toBeLessThanOrEqual(1);
      await shot(page, `phone-${route.replace("/", "-")}`);
    }
    expect(unexpected(errors)).toEqual([]);
  });

  it("is navigable by keyboard", async () => {
    const { page, errors } = await openPage({ width: 1280, height: 800 });
    await page.goto(`${origin}/#/namespaces`);
    await page.getByTestId("namespace-row-catalog").waitFor();
    let reached = false;
    for (let i = 0; i < 30 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached =
        (await page
          .locator(":focus")
          .getAttribute("data-testid")
          .catch(() => null)) === "nav-backends";
    }
    expect(reached).toBe(true);
    await page.keyboard.press("Enter");
    await page.getByTestId("backend-row-local").waitFor();
    expect(new URL(page.url()).hash).toBe("#/backends");
    expect(unexpected(errors)).toEqual([]);
  });

  it("signs an operator in at the identity provider and back", async () => {
    const issuer = await startTestIssuer();
    issuerOrigin = issuer.issuer;
    const secured = await startGatewayProcess({
      auth: {
        mode: "oidc",
        oidc: { issuer: issuer.issuer, audience: issuer.audience, allowInsecureHttp: true },
        adminGroups: ["prism-admins"],
      },
      admin: { oidc: { clientId: TEST_ADMIN_CLIENT_ID } },
      backends: { mem: { type: "memory" } },
      namespaces: [{ name: "vault", pattern: "keyvalue", backend: "mem" }],
    });
    try {
      const { page, errors } = await openPage({ width: 1280, height: 800 });
      await page.goto(`http://${await secured.adminAddress()}/#/namespaces`);
      await page.getByTestId("sign-in").click();
      // oidc-provider's own login and consent forms.
      await page.locator('input[name="login"]').fill("root");
      await page.locator('input[name="password"]').fill("any");
      await page.locator('button[type="submit"]').click();
      await page.locator('button[type="submit"]').click();
      await page.getByTestId("namespace-row-vault").waitFor({ timeout: 15_000 });
      expect(await page.getByTestId("user").textContent()).toContain("root");
      const cookies = await page.context().cookies();
      expect(cookies.find((c) => c.name === "prism_admin")).toMatchObject({
        httpOnly: true,
        sameSite: "Lax",
      });
      await shot(page, "5-signed-in");
      expect(unexpected(errors)).toEqual([]);
    } finally {
      await secured.stop();
      removeDataDir(secured.dataDir);
      await issuer.stop();
    }
  });
});
