import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyValueConformance } from "@prism/core/conformance";
import { afterAll, describe, expect, it } from "vitest";
import { sqliteDriver } from "./index.js";

const dataDir = mkdtempSync(join(tmpdir(), "prism-sqlite-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

keyValueConformance({
  name: "sqlite",
  open: () => sqliteDriver.open({ name: "local", options: { path: "conformance.db" }, dataDir }),
});

describe("sqlite driver", () => {
  it("keeps data across reopen of the same file", async () => {
    const first = await sqliteDriver.open({ name: "a", options: { path: "reopen.db" }, dataDir });
    await first.keyvalue!.put("ns", "r", [{ key: Uint8Array.of(1), value: Uint8Array.of(2) }], {});
    await first.close();
    const second = await sqliteDriver.open({ name: "a", options: { path: "reopen.db" }, dataDir });
    const { items } = await second.keyvalue!.get(
      "ns",
      "r",
      { kind: "all" },
      { limitItems: 10, limitBytes: 100 },
    );
    expect(items.map((i) => [...i.value])).toEqual([[2]]);
    await second.close();
  });

  it("sweeps expired items physically", async () => {
    const backend = await sqliteDriver.open({ name: "s", options: { path: ":memory:" }, dataDir });
    const kv = backend.keyvalue as import("./sqlite-keyvalue.js").SqliteKeyValue;
    await kv.put(
      "ns",
      "r",
      [{ key: Uint8Array.of(1), value: Uint8Array.of(1), expiresAt: Date.now() - 1 }],
      {},
    );
    await kv.put("ns", "r", [{ key: Uint8Array.of(2), value: Uint8Array.of(1) }], {});
    expect(kv.sweep()).toBe(1);
    expect(kv.sweep()).toBe(0);
    await backend.close();
  });

  it("reports every bad option at once", () => {
    expect(sqliteDriver.validate({ path: 3, sweepIntervalMs: -1, colour: "red" })).toEqual([
      "colour: unknown option (known: path, sweepIntervalMs)",
      "path: must be a non-empty string",
      "sweepIntervalMs: must be an integer from 100 to 3600000",
    ]);
  });
});
