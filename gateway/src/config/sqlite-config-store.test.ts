import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import type { ConfigStore } from "./config-store.js";
import { configStoreContract, spec, until } from "./config-store-contract.js";
import { SqliteConfigStore } from "./sqlite-config-store.js";

const dir = mkdtempSync(join(tmpdir(), "prism-config-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const fileOf = new WeakMap<ConfigStore, string>();
function openAt(file: string): SqliteConfigStore {
  const store = new SqliteConfigStore(file, 100);
  fileOf.set(store, file);
  return store;
}

configStoreContract(
  "sqlite",
  async () => openAt(join(dir, `store-${++files}.db`)),
  async (store) => openAt(fileOf.get(store)!),
);

describe("SqliteConfigStore", () => {
  it("keeps namespaces across reopening the file", async () => {
    const file = join(dir, "reopen", "config.db");
    const first = openAt(file);
    await first.put(spec("kept"));
    await first.close();
    const second = openAt(file);
    expect((await second.get("kept"))?.spec).toEqual(spec("kept"));
    expect(await second.generation()).toBe(1);
    await second.close();
  });

  it("notices a commit made by any other connection to the file, not only another store", async () => {
    const file = join(dir, "foreign.db");
    const store = openAt(file);
    let heard = 0;
    store.watch(() => {
      heard++;
    });
    const other = new Database(file);
    other.prepare("UPDATE store_meta SET value = value + 1 WHERE key = 'generation'").run();
    other.close();
    await until(() => heard > 0, 1000);
    expect(await store.generation()).toBe(1);
    await store.close();
  });

  it("notifies its own watchers of its own changes at once", async () => {
    const store = openAt(join(dir, "own.db"));
    let heard = 0;
    store.watch(() => {
      heard++;
    });
    await store.put(spec("mine"));
    expect(heard).toBe(1);
    await store.delete("nothing-here");
    expect(heard).toBe(1);
    await store.close();
  });
});
