import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { runPrismctl } from "../support/prismctl.js";

/**
 * prismctl's KeyValue commands end to end: Get with keys, ranges and pages, Delete of keys and
 * ranges, Mutate in command-line order, Scan with a cursor, and export | import round trips
 * with bad lines counted — against a gateway process (SQLite and memory backends).
 */
let gateway: GatewayProcess;

function prismctl(...args: string[]) {
  return runPrismctl(gateway.address, args);
}

const lines = (text: string) => text.trim().split("\n").filter(Boolean);

beforeAll(async () => {
  gateway = await startGatewayProcess({
    backends: { lite: { type: "sqlite", path: "kv.db" }, mem: { type: "memory" } },
    namespaces: [
      { name: "kv-src", pattern: "keyvalue", backend: "lite" },
      { name: "kv-copy", pattern: "keyvalue", backend: "mem" },
      { name: "kv-ts", pattern: "timeseries", backend: "mem" },
    ],
  });
});
afterAll(async () => {
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

// Every prismctl call is a fresh tsx process: seconds each on a loaded machine.
describe("prismctl kv", { timeout: 180_000 }, () => {
  it("mutates a record in command-line order, then gets keys, ranges and pages of it", async () => {
    const mutate = await prismctl(
      "kv",
      "mutate",
      "kv-src",
      "rec",
      "--put",
      "a=1",
      "--put",
      "b=2",
      "--put",
      "c=3",
      "--put",
      "d=4",
      "--delete-key",
      "a",
      "--put",
      "a=again",
      "--delete-range",
      "c..d",
      "--put",
      "=flat",
    );
    expect(mutate.code, mutate.stderr).toBe(0);
    expect(mutate.stdout).toMatch(/^ok: (atomically|one by one)/);
    expect((await prismctl("kv", "get", "kv-src", "rec")).stdout).toBe("flat\na\tagain\nb\t2\nd\t4\n");

    expect((await prismctl("kv", "get", "kv-src", "rec", "--key", "b", "--key", "d")).stdout).toBe(
      "b\t2\nd\t4\n",
    );
    expect((await prismctl("kv", "get", "kv-src", "rec", "--range", "a..c")).stdout).toBe("a\tagain\nb\t2\n");
    expect((await prismctl("kv", "get", "kv-src", "rec", "--range", "b..")).stdout).toBe("b\t2\nd\t4\n");

    const first = await prismctl(
      "kv",
      "get",
      "kv-src",
      "rec",
      "--page-size",
      "2",
      "--one-page",
      "-o",
      "json",
    );
    expect(lines(first.stdout).map((line) => JSON.parse(line))).toEqual([
      { value: "flat" },
      { key: "a", value: "again" },
    ]);
    const token = /^next page: --page-token (\S+)$/m.exec(first.stderr)?.[1];
    expect(token, first.stderr).toBeDefined();
    const rest = await prismctl("kv", "get", "kv-src", "rec", "--page-size", "2", "--page-token", token!);
    expect(rest.stdout).toBe("b\t2\nd\t4\n");
    // Following every page is the default.
    expect(lines((await prismctl("kv", "get", "kv-src", "rec", "--page-size", "1")).stdout)).toHaveLength(4);
  });

  it("deletes some keys, a key range, then the whole record", async () => {
    for (const key of ["a", "b", "c", "d", "e"]) {
      expect((await prismctl("kv", "put", "kv-src", "del", key, "--key", key)).code).toBe(0);
    }
    expect((await prismctl("kv", "delete", "kv-src", "del", "--key", "a", "--key", "e")).stdout).toBe("ok\n");
    expect((await prismctl("kv", "del", "kv-src", "del", "--range", "b..d")).code).toBe(0);
    expect((await prismctl("kv", "get", "kv-src", "del")).stdout).toBe("d\td\n");
    const json = await prismctl("kv", "delete", "kv-src", "del", "-o", "json");
    expect(JSON.parse(json.stdout)).toEqual({ replayed: false });
    expect((await prismctl("kv", "get", "kv-src", "del")).stdout).toBe("");
  });

  it("scans with a limit, prints the cursor, and resumes from it; -o yaml prints documents", async () => {
    for (const id of ["s1", "s2", "s3"])
      expect((await prismctl("kv", "put", "kv-copy", id, `v-${id}`)).code).toBe(0);
    const page = await prismctl("kv", "scan", "kv-copy", "--limit", "2");
    expect(page.stdout).toBe("s1\t\tv-s1\ns2\t\tv-s2\n");
    const cursor = /^next cursor: --cursor (\S+)$/m.exec(page.stderr)?.[1];
    expect(cursor, page.stderr).toBeDefined();
    expect((await prismctl("kv", "scan", "kv-copy", "--cursor", cursor!)).stdout).toBe("s3\t\tv-s3\n");
    const yaml = await prismctl("kv", "scan", "kv-copy", "-o", "yaml");
    expect(
      yaml.stdout
        .split(/^---\n/m)
        .filter(Boolean)
        .map((doc) => parse(doc)),
    ).toEqual([
      { id: "s1", value: "v-s1" },
      { id: "s2", value: "v-s2" },
      { id: "s3", value: "v-s3" },
    ]);
  });

  it("exports and imports the same JSON lines; bad lines are reported, counted and exit 1", async () => {
    const good = [
      { id: "u1", value: "hello" },
      { id: "u1", key: "colour", value: "blue" },
      { id: "u2", key_b64: "/wA=", value_b64: "wyg=" },
      ...Array.from({ length: 40 }, (_, i) => ({ id: `n${String(i).padStart(2, "0")}`, value: `v${i}` })),
    ];
    const file = join(gateway.dataDir, "in.jsonl");
    const text = [
      ...good.slice(0, 2).map((line) => JSON.stringify(line)),
      "not json",
      ...good.slice(2).map((line) => JSON.stringify(line)),
      "",
      '{"id":"x"}',
      JSON.stringify({ id: "old", value: "gone", expire_time: "2001-01-01T00:00:00Z" }),
    ];
    writeFileSync(file, `${text.join("\n")}\n`);
    const imported = await prismctl("kv", "import", "kv-src", "-f", file);
    expect(imported.code).toBe(1);
    expect(imported.stdout).toMatch(
      new RegExp(
        `^imported ${good.length} items from ${text.length} lines into kv-src in \\d+s, 1 expired skipped, 2 failed\\n$`,
      ),
    );
    expect(imported.stderr).toContain(`line 3: not JSON`);
    expect(imported.stderr).toContain(`line ${text.length - 1}: "value" or "value_b64" is required`);
    expect(imported.stderr).toContain(`error: 2 of ${text.length} lines failed`);

    const exported = await prismctl("kv", "export", "kv-src");
    expect(exported.code, exported.stderr).toBe(0);
    const records = lines(exported.stdout).map((line) => JSON.parse(line));
    // What the other tests wrote is there too; the imported lines come back as they went in.
    expect(records).toEqual(expect.arrayContaining(good));
    expect(records.find((r) => r.id === "old")).toBeUndefined();
    expect(exported.stderr).toMatch(/^exported \d+ records \(\d+ items\) from kv-src\n$/);

    // The round trip: into an empty namespace and out again, unchanged.
    const dump = join(gateway.dataDir, "dump.jsonl");
    writeFileSync(dump, exported.stdout);
    const again = await runPrismctl(
      gateway.address,
      ["kv", "import", "-n", "kv-copy", "-f", "-", "-o", "json"],
      {
        stdin: readFileSync(dump, "utf8"),
      },
    );
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      namespace: "kv-copy",
      failed: 0,
      imported: records.length,
    });
    const copied = lines((await prismctl("kv", "export", "kv-copy")).stdout).filter(
      (l) => !/"id":"s\d"/.test(l),
    );
    expect(copied).toEqual(lines(exported.stdout));
  });

  it("stops an import at a failure every line would share, and names it", async () => {
    const file = join(gateway.dataDir, "few.jsonl");
    writeFileSync(file, '{"id":"a","value":"1"}\n{"id":"b","value":"2"}\n');
    const wrong = await prismctl("kv", "import", "kv-ts", "-f", file);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/\(WRONG_PATTERN\)\nhint: /);
    expect(wrong.stderr).toMatch(/^imported 0 items from \d lines into kv-ts/m);
    const missing = await prismctl("kv", "import", "no-such-ns", "-f", file);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("(NAMESPACE_NOT_FOUND)");
  });
});
