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

    it("closes idempotently", async () => {
      const store = await open();
      await store.close();
      await store.close();
    });
  });
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
