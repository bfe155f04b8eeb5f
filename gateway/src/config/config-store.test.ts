import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DRIVERS } from "../drivers.js";
import { openConfigStore, SqliteConfigStore } from "./config-store.js";
import { ConfigError, loadConfig } from "./load-config.js";

const dir = mkdtempSync(join(tmpdir(), "prism-config-store-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Every problem loadConfig reports for `yaml` (none: []), or the config it loaded. */
function load(yaml: string) {
  const file = join(dir, `gateway-${++files}.yaml`);
  writeFileSync(file, `backends: { mem: { type: memory } }\n${yaml}`);
  try {
    return { config: loadConfig({ file, env: {} }, DRIVERS), problems: [] };
  } catch (error) {
    if (error instanceof ConfigError) return { config: undefined, problems: error.problems };
    throw error;
  }
}

describe("configStore in the gateway config", () => {
  it("defaults to SQLite in the data directory, polled every second", () => {
    expect(load("").config?.configStore).toEqual({ type: "sqlite", path: "config.db", pollIntervalMs: 1000 });
  });

  it.each([
    "postgres://prism@db.internal:5432/prism",
    "postgresql://db.internal/prism?sslmode=require",
    "env:PRISM_CONFIG_PG_URL",
    "file:/run/secrets/config-pg-url",
  ])("accepts a PostgreSQL store at %s, in schema prism unless told", (url) => {
    expect(load(`configStore: { type: postgres, url: "${url}" }`).config?.configStore).toEqual({
      type: "postgres",
      url,
      schema: "prism",
    });
  });

  it("lists every configStore problem with the rest of the config's, never quoting the url", () => {
    const { problems } = load(`
configStore: { type: postgres, url: "mysql://root:hunter2@db/prism", schema: "Bad-Schema", pollIntervalMs: 5 }
logLevel: chatty`);
    expect(problems).toEqual(
      expect.arrayContaining([
        "configStore.url: must be a postgres:// or postgresql:// URL, env:NAME or file:/path",
        "configStore.schema: must be a lower-case identifier (letters, digits, _; at most 49)",
        expect.stringMatching(/^configStore: .*pollIntervalMs/),
        expect.stringMatching(/^logLevel: /),
      ]),
    );
    expect(problems.join("\n")).not.toContain("hunter2");
    expect(load("configStore: { type: postgres }").problems).toEqual([
      expect.stringMatching(/^configStore\.url: /),
    ]);
    expect(load("configStore: { type: etcd }").problems).toEqual([
      expect.stringMatching(/^configStore\.type: /),
    ]);
    expect(load("configStore: { type: sqlite, url: x }").problems).toEqual([
      expect.stringMatching(/^configStore: .*url/),
    ]);
  });

  it("opens the SQLite store at dataDir/path", async () => {
    const store = await openConfigStore(
      {
        dataDir: join(dir, "data"),
        configStore: { type: "sqlite", path: "nested/config.db", pollIntervalMs: 100 },
      },
      { info: () => undefined, warn: () => undefined },
    );
    expect(store).toBeInstanceOf(SqliteConfigStore);
    await store.put({ name: "here", pattern: "keyvalue", backend: "mem" });
    await store.close();
    const again = new SqliteConfigStore(join(dir, "data", "nested", "config.db"));
    expect((await again.get("here"))?.version).toBe(1);
    await again.close();
  });
});
