import { afterAll, describe, expect, it } from "vitest";
import type { ConfigStore } from "./config-store.js";
import type { NamespaceSpec } from "./namespace-spec.js";

/**
 * What every ConfigStore must do, run by each implementation's test against a real database.
 * `open` returns a store on fresh, empty storage; `openPeer(store)` a second store on the same
 * storage, standing for another gateway. Test support: only tests import it.
 *
 * @example configStoreContract("sqlite", () => open(file()), (store) => open(fileOf(store)))
 */
export function configStoreContract(
  name: string,
  open: () => Promise<ConfigStore>,
  openPeer: (store: ConfigStore) => Promise<ConfigStore>,
): void {
  describe(`${name} config store contract`, () => {
    const opened: ConfigStore[] = [];
    const track = async (store: Promise<ConfigStore>) => {
      opened.push(await store);
      return opened.at(-1)!;
    };
    afterAll(async () => {
      await Promise.all(opened.map((store) => store.close()));
    });

    it("starts empty at generation 0", async () => {
      const store = await track(open());
      expect(await store.list()).toEqual([]);
      expect(await store.get("nope")).toBeUndefined();
      expect(await store.generation()).toBe(0);
    });

    it("puts, versions, lists by name and deletes, bumping the generation on each change", async () => {
      const store = await track(open());
      const before = Date.now();
      const first = await store.put(spec("b-ns"));
      expect(first).toMatchObject({ spec: spec("b-ns"), version: 1 });
      expect(first.updatedAt).toBeGreaterThanOrEqual(before);
      expect(await store.generation()).toBe(1);

      await store.put(spec("a-ns"));
      const second = await store.put({ ...spec("b-ns"), limits: { rps: 10 } });
      expect(second.version).toBe(2);
      expect(await store.generation()).toBe(3);
      expect(await store.get("b-ns")).toEqual(second);
      expect((await store.list()).map((stored) => [stored.spec.name, stored.version])).toEqual([
        ["a-ns", 1],
        ["b-ns", 2],
      ]);

      expect(await store.delete("a-ns")).toBe(true);
      expect(await store.generation()).toBe(4);
      expect(await store.delete("a-ns")).toBe(false);
      expect(await store.generation()).toBe(4);
      expect(await store.get("a-ns")).toBeUndefined();
      expect((await store.list()).map((stored) => stored.spec.name)).toEqual(["b-ns"]);
    });

    it("tells watchers of another store on the same storage about changes within a second", async () => {
      const store = await track(open());
      const peer = await track(openPeer(store));
      let heard = 0;
      const unwatch = peer.watch(() => {
        heard++;
      });
      const started = Date.now();
      await store.put(spec("watched"));
      await until(() => heard > 0, 1000);
      expect(Date.now() - started).toBeLessThan(1000);
      expect((await peer.get("watched"))?.version).toBe(1);

      heard = 0;
      await store.delete("watched");
      await until(() => heard > 0, 1000);
      expect(await peer.get("watched")).toBeUndefined();

      unwatch();
      heard = 0;
      await store.put(spec("unwatched"));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(heard).toBe(0);
    });

    it("versions schema files, serves the newest of each, and refuses a version another store took", async () => {
      const store = await track(open());
      const peer = await track(openPeer(store));
      expect(await store.schemaFiles()).toEqual([]);
      const generation = await store.generation();
      const before = Date.now();
      const at = await store.addSchemaFiles([
        { name: "b.proto", version: 1, descriptor: bytes(1, 2, 3) },
        { name: "a.proto", version: 1, descriptor: bytes(9) },
      ]);
      expect(at).toBeGreaterThanOrEqual(before);
      expect(await store.generation()).toBe(generation + 1);
      await store.addSchemaFiles([{ name: "b.proto", version: 2, descriptor: bytes(4, 5) }]);
      expect(await peer.schemaFiles()).toEqual([
        { name: "a.proto", version: 1, registeredAt: at, descriptor: bytes(9) },
        { name: "b.proto", version: 2, registeredAt: expect.any(Number), descriptor: bytes(4, 5) },
      ]);

      // The peer read version 2 and registers 3; this store, still at 2, loses its own 3.
      await peer.addSchemaFiles([{ name: "b.proto", version: 3, descriptor: bytes(6) }]);
      const lost = store.addSchemaFiles([
        { name: "c.proto", version: 1, descriptor: bytes(7) },
        { name: "b.proto", version: 3, descriptor: bytes(8) },
      ]);
      await expect(lost).rejects.toMatchObject({ kind: "Conflict" });
      // All or nothing: c.proto was not stored either.
      expect(
        (await store.schemaFiles()).map((file) => [file.name, file.version, [...file.descriptor]]),
      ).toEqual([
        ["a.proto", 1, [9]],
        ["b.proto", 3, [6]],
      ]);
      await expect(
        store.addSchemaFiles([{ name: "d.proto", version: 2, descriptor: bytes(1) }]),
      ).rejects.toMatchObject({ kind: "Conflict" });
    });

    it("puts, versions, gets, lists by key prefix and deletes shared state, kept apart by kind", async () => {
      const store = await track(open());
      const peer = await track(openPeer(store));
      expect(await store.getState("backfill", "job-b")).toBeUndefined();
      expect(await store.listState("backfill")).toEqual([]);

      const before = Date.now();
      const first = await store.putState("backfill", "job-b", { done: 0 });
      expect(first).toMatchObject({ kind: "backfill", key: "job-b", value: { done: 0 }, version: 1 });
      expect(first.updatedAt).toBeGreaterThanOrEqual(before);
      expect(await peer.getState("backfill", "job-b")).toEqual(first);
      const second = await peer.putState("backfill", "job-b", { done: 5 });
      expect(second.version).toBe(2);
      expect(await store.getState("backfill", "job-b")).toEqual(second);

      await store.putState("backfill", "job-a", 1);
      await store.putState("backfill", "jobs", 2);
      await store.putState("shadow-stats", "job-a", 3);
      // LIKE's wildcards are only themselves in a prefix.
      for (const key of ["a%b/1", "a_b/1", "axb/1", "A%b/1"]) await store.putState("backfill", key, key);
      const keys = async (prefix?: string) =>
        (await peer.listState("backfill", prefix)).map((state) => state.key);
      expect(await keys()).toEqual(["A%b/1", "a%b/1", "a_b/1", "axb/1", "job-a", "job-b", "jobs"]);
      expect(await keys("job-")).toEqual(["job-a", "job-b"]);
      expect(await keys("job")).toEqual(["job-a", "job-b", "jobs"]);
      expect(await keys("a%")).toEqual(["a%b/1"]);
      expect(await keys("a_")).toEqual(["a_b/1"]);
      expect(await keys("")).toHaveLength(7);
      expect(await keys("nothing")).toEqual([]);
      expect(await peer.listState("backfill", "job-b")).toEqual([second]);
      expect(await store.listState("shadow-stats")).toEqual([
        expect.objectContaining({ kind: "shadow-stats", key: "job-a", value: 3, version: 1 }),
      ]);

      expect(await store.deleteState("backfill", "job-b")).toBe(true);
      expect(await peer.deleteState("backfill", "job-b")).toBe(false);
      expect(await peer.getState("backfill", "job-b")).toBeUndefined();
      expect(await keys("job-")).toEqual(["job-a"]);
      expect((await store.getState("shadow-stats", "job-a"))?.value).toBe(3);
      // Created again: a new life, version 1.
      expect((await store.putState("backfill", "job-b", { done: 0 })).version).toBe(1);
    });

    it("writes state with expectVersion only over that version, 0 meaning absent", async () => {
      const store = await track(open());
      const conflict = { kind: "Conflict" };
      await expect(store.putState("backfill", "job", "x", 1)).rejects.toMatchObject(conflict);
      expect(await store.getState("backfill", "job")).toBeUndefined();
      expect((await store.putState("backfill", "job", "claimed", 0)).version).toBe(1);
      await expect(store.putState("backfill", "job", "again", 0)).rejects.toMatchObject(conflict);
      expect((await store.putState("backfill", "job", "step-1", 1)).version).toBe(2);
      await expect(store.putState("backfill", "job", "stale", 1)).rejects.toMatchObject(conflict);
      await expect(store.putState("backfill", "job", "ahead", 3)).rejects.toMatchObject(conflict);
      expect(await store.getState("backfill", "job")).toMatchObject({ value: "step-1", version: 2 });
      // Without expectVersion it writes whatever is there.
      expect((await store.putState("backfill", "job", "forced")).version).toBe(3);
      // The same key under another kind is another piece of state.
      expect((await store.putState("other", "job", "mine", 0)).version).toBe(1);
    });

    it("lets exactly one of many concurrent compare-and-sets from two stores win", async () => {
      const store = await track(open());
      const peer = await track(openPeer(store));
      const race = async (expectVersion: number) => {
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? peer : store).putState("backfill", "contended", { owner: i }, expectVersion),
          ),
        );
        const won = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
        const lost = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(9);
        for (const reason of lost) expect(reason).toMatchObject({ kind: "Conflict" });
        expect(await peer.getState("backfill", "contended")).toEqual(won[0]);
        return won[0]!;
      };
      expect((await race(0)).version).toBe(1);
      expect((await race(1)).version).toBe(2);
    });

    it("neither bumps the generation nor wakes watchers when state is written", async () => {
      const store = await track(open());
      const peer = await track(openPeer(store));
      const heard = { store: 0, peer: 0 };
      store.watch(() => {
        heard.store++;
      });
      peer.watch(() => {
        heard.peer++;
      });
      const generation = await store.generation();
      await store.putState("shadow-stats", "ns/gw-1", { calls: 1 });
      await peer.putState("shadow-stats", "ns/gw-2", { calls: 1 }, 0);
      await store.putState("shadow-stats", "ns/gw-2", { calls: 2 }, 1);
      await peer.deleteState("shadow-stats", "ns/gw-1");
      await store.putState("shadow-stats", "ns/gw-2", "late", 0).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(heard).toEqual({ store: 0, peer: 0 });
      expect(await peer.generation()).toBe(generation);

      // The watchers do work: a namespace change reaches both.
      await peer.put(spec("after-state"));
      await until(() => heard.store > 0 && heard.peer > 0, 1000);
    });

    it("refuses a bad kind, key, expectVersion or value as InvalidArgument, storing nothing", async () => {
      const store = await track(open());
      const invalid = { kind: "InvalidArgument" };
      for (const kind of ["", "Backfill", "back_fill", "job/1", "k".repeat(65)]) {
        await expect(store.putState(kind, "key", 1)).rejects.toMatchObject(invalid);
        await expect(store.getState(kind, "key")).rejects.toMatchObject(invalid);
        await expect(store.listState(kind)).rejects.toMatchObject(invalid);
        await expect(store.deleteState(kind, "key")).rejects.toMatchObject(invalid);
      }
      for (const key of ["", "k".repeat(513), "a\u0000b", "line\nbreak", "lone\ud800"]) {
        await expect(store.putState("backfill", key, 1)).rejects.toMatchObject(invalid);
        await expect(store.getState("backfill", key)).rejects.toMatchObject(invalid);
        await expect(store.deleteState("backfill", key)).rejects.toMatchObject(invalid);
      }
      await expect(store.listState("backfill", "p".repeat(513))).rejects.toMatchObject(invalid);
      for (const expectVersion of [-1, 1.5, Number.NaN]) {
        await expect(store.putState("backfill", "key", 1, expectVersion)).rejects.toMatchObject(invalid);
      }
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      // 64 KiB serialized: the quotes count, and so does each byte of a multi-byte character.
      for (const value of [
        undefined,
        () => 1,
        10n,
        cyclic,
        "x".repeat(64 * 1024 - 1),
        "é".repeat(32 * 1024),
      ]) {
        await expect(store.putState("backfill", "key", value)).rejects.toMatchObject(invalid);
      }
      expect(await store.listState("backfill")).toEqual([]);

      // The limits themselves are allowed; a key's characters are counted as code points.
      const longest = await store.putState("backfill", "k".repeat(512), "x".repeat(64 * 1024 - 2));
      expect((longest.value as string).length).toBe(64 * 1024 - 2);
      expect((await store.getState("backfill", "k".repeat(512)))?.version).toBe(1);
      expect((await store.putState("a-0".padEnd(64, "z"), "😀".repeat(512), null)).version).toBe(1);
    });

    it("round-trips JSON values through another store", async () => {
      const store = await track(open());
      const peer = await track(openPeer(store));
      const values: unknown[] = [
        {
          job: { id: "bf-1", namespaces: ["a", "b"], checkpoint: { key: "user-1\u0001", n: 12_345 } },
          numbers: [0, -1.5, 1e300, Number.MAX_SAFE_INTEGER, 0.1 + 0.2],
          text: 'héllo wörld 日本語 😀 "quoted" back\\slash \u0000 nul',
          flags: [true, false, null],
          empty: { object: {}, array: [] },
        },
        42,
        "just a string",
        null,
        [1, "two", { three: 3 }],
      ];
      for (const [i, value] of values.entries()) {
        const key = `用户/${i}/😀%_`;
        const put = await store.putState("round-trip", key, value);
        expect(put.value).toEqual(value);
        expect(await peer.getState("round-trip", key)).toEqual(put);
      }
      expect((await peer.listState("round-trip")).map((state) => state.value)).toEqual(values);
      // What is not JSON comes back as JSON would have it, from put as from get.
      const dated = await store.putState("round-trip", "dated", { at: new Date(0), gone: undefined });
      expect(dated.value).toEqual({ at: "1970-01-01T00:00:00.000Z" });
      expect(await peer.getState("round-trip", "dated")).toEqual(dated);
    });

    it("closes idempotently", async () => {
      const store = await open();
      await store.close();
      await store.close();
    });
  });
}

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

/** A minimal valid keyvalue namespace spec. */
export function spec(name: string): NamespaceSpec {
  return { name, pattern: "keyvalue", backend: "local" };
}

/** Waits for `condition`, failing after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
