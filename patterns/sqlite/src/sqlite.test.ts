import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TsEvent } from "@prism/core";
import { graphConformance, keyValueConformance, timeSeriesConformance } from "@prism/core/conformance";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { sqliteDriver } from "./index.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./sqlite-schema.js";

const dataDir = mkdtempSync(join(tmpdir(), "prism-sqlite-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

keyValueConformance({
  name: "sqlite",
  open: () => sqliteDriver.open({ name: "local", options: { path: "conformance.db" }, dataDir }),
});

timeSeriesConformance({
  name: "sqlite",
  open: () => sqliteDriver.open({ name: "local", options: { path: "timeseries.db" }, dataDir }),
});

graphConformance({
  name: "sqlite",
  open: () => sqliteDriver.open({ name: "local", options: { path: "graph.db" }, dataDir }),
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

  it("wakes a live tail for writes made by another connection to the same file (by polling)", async () => {
    const settings = { retentionMs: 3_600_000, acceptPastMs: 3_600_000, acceptFutureMs: 3_600_000 };
    const reader = await sqliteDriver.open({ name: "r", options: { path: "shared.db" }, dataDir });
    const writer = await sqliteDriver.open({ name: "w", options: { path: "shared.db" }, dataDir });
    const controller = new AbortController();
    const ids = (result: IteratorResult<TsEvent[]>) =>
      result.done ? [] : result.value.map((e) => e.eventId);
    try {
      const now = BigInt(Date.now()) * 1000n;
      const event = (eventId: string) => ({ eventTimeUs: now, eventId, payload: new Uint8Array(), tags: {} });
      await writer.timeseries!.write("ns", "s", [event("stored")], { settings });
      const tail = reader.timeseries!.tail("ns", "s", {
        settings,
        startUs: now,
        tagFilter: {},
        signal: controller.signal,
      });
      const iterator = tail[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(ids(first)).toEqual(["stored"]);
      const pending = iterator.next();
      await writer.timeseries!.write("ns", "s", [event("from-elsewhere")], { settings });
      const bounded = AbortSignal.timeout(20_000);
      const second = await Promise.race([
        pending,
        new Promise<never>((_, reject) =>
          bounded.addEventListener("abort", () => reject(new Error("no wake-up"))),
        ),
      ]);
      expect(ids(second)).toEqual(["from-elsewhere"]);
    } finally {
      controller.abort();
      await reader.close();
      await writer.close();
    }
  });

  it("upgrades a version 1 database (KeyValue only) in place", async () => {
    const file = join(dataDir, "version-1.db");
    const old = new Database(file);
    for (const statement of MIGRATIONS.slice(0, 4)) old.exec(statement);
    old.prepare("INSERT INTO kv_items (namespace, id, key, value) VALUES ('ns', 'r', x'01', x'02')").run();
    old.pragma("user_version = 1");
    old.close();
    const backend = await sqliteDriver.open({ name: "v1", options: { path: "version-1.db" }, dataDir });
    const { items } = await backend.keyvalue!.get(
      "ns",
      "r",
      { kind: "all" },
      { limitItems: 10, limitBytes: 100 },
    );
    expect(items.map((i) => [...i.value])).toEqual([[2]]);
    const settings = { retentionMs: 3_600_000, acceptPastMs: 3_600_000, acceptFutureMs: 3_600_000 };
    const event = {
      eventTimeUs: BigInt(Date.now()) * 1000n,
      eventId: "e",
      payload: new Uint8Array(),
      tags: {},
    };
    expect(await backend.timeseries!.write("ns", "s", [event], { settings })).toEqual({
      written: 1,
      duplicates: 0,
    });
    await backend.close();
    const reopened = new Database(file, { readonly: true });
    expect(reopened.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    reopened.close();
  });

  it("upgrades a version 2 database (KeyValue and TimeSeries) in place, adding Graph", async () => {
    const file = join(dataDir, "version-2.db");
    const old = new Database(file);
    const graphStart = MIGRATIONS.findIndex((statement) => statement.includes("graph_nodes"));
    expect(graphStart).toBeGreaterThan(0);
    for (const statement of MIGRATIONS.slice(0, graphStart)) old.exec(statement);
    old.prepare("INSERT INTO kv_items (namespace, id, key, value) VALUES ('ns', 'r', x'01', x'02')").run();
    old.pragma("user_version = 2");
    old.close();
    const backend = await sqliteDriver.open({ name: "v2", options: { path: "version-2.db" }, dataDir });
    const { items } = await backend.keyvalue!.get(
      "ns",
      "r",
      { kind: "all" },
      { limitItems: 10, limitBytes: 100 },
    );
    expect(items.map((i) => [...i.value])).toEqual([[2]]);
    const graph = backend.graph!;
    await graph.upsertNodes("ns", [{ id: "a", label: "n", properties: { v: 1n } }], {});
    expect(await graph.getNodes("ns", ["a"], {})).toEqual([{ id: "a", label: "n", properties: { v: 1n } }]);
    await backend.close();
    const reopened = new Database(file, { readonly: true });
    expect(reopened.pragma("user_version", { simple: true })).toBe(3);
    expect(SCHEMA_VERSION).toBe(3);
    reopened.close();
  });

  it("reports every bad option at once", () => {
    expect(sqliteDriver.validate({ path: 3, sweepIntervalMs: -1, colour: "red" })).toEqual([
      "colour: unknown option (known: path, sweepIntervalMs)",
      "path: must be a non-empty string",
      "sweepIntervalMs: must be an integer from 100 to 3600000",
    ]);
  });
});
