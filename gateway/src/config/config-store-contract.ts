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
