import { type Backend, isPrismError, type KeyValueBackend } from "@prism/core";
import { b, freshNamespace } from "@prism/core/conformance";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminClient,
  freshSchema,
  sizedItem as item,
  openTestBackend,
  plainPage as plain,
  rejection,
} from "./test-support.js";

const ALL = { limitItems: 1000, limitBytes: 1 << 20 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Batched gets whose callers give up, or whose statement fails, while the statement is in flight. */
describe("postgres get batching: cancellation and failure", () => {
  const schema = freshSchema();
  let backend: Backend;
  let kv: KeyValueBackend;
  let admin: Client;

  beforeAll(async () => {
    backend = await openTestBackend({ schema }, "pg-batch-cancel");
    kv = backend.keyvalue!;
    admin = await adminClient();
  });
  afterAll(async () => {
    await backend?.close();
    await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin?.end();
  });

  /** Holds an exclusive lock on the items table until the returned function is called. */
  async function lockItems(): Promise<() => Promise<void>> {
    const blocker = await adminClient();
    await blocker.query("BEGIN");
    await blocker.query(`LOCK TABLE "${schema}".kv_items IN ACCESS EXCLUSIVE MODE`);
    return async () => {
      await blocker.query("ROLLBACK");
      await blocker.end();
    };
  }

  it("rejects a caller whose signal fires mid-batch at once, and still answers the others", async () => {
    const ns = freshNamespace();
    await kv.put(ns, "r1", [item("a", 3)], {});
    await kv.put(ns, "r2", [item("b", 4)], {});
    const release = await lockItems();
    try {
      const leaving = new AbortController();
      const first = kv.get(ns, "r1", { kind: "all" }, { ...ALL, signal: leaving.signal });
      const second = kv.get(ns, "r2", { kind: "all" }, { ...ALL, signal: AbortSignal.timeout(10_000) });
      const third = kv.get(
        ns,
        "r1",
        { kind: "keys", keys: [b("a")] },
        { ...ALL, signal: AbortSignal.timeout(10_000) },
      );
      await sleep(100); // the batch is waiting for the lock
      leaving.abort();
      // The lock is still held: without the abort reaching this caller it would wait for release.
      const error = await Promise.race([rejection(first), sleep(5_000).then(() => "still waiting")]);
      expect(isPrismError(error, "Cancelled"), String(error)).toBe(true);
      let settled = false;
      void Promise.allSettled([second, third]).then(() => (settled = true));
      await sleep(50);
      expect(settled).toBe(false);
      await release();
      expect(plain(await second)).toEqual(plain({ items: [item("b", 4)], more: false }));
      expect(plain(await third)).toEqual(plain({ items: [item("a", 3)], more: false }));
    } finally {
      await release().catch(() => undefined);
    }
  });

  it("cancels the statement on the server once every caller of a batch has given up", async () => {
    const ns = freshNamespace();
    const release = await lockItems();
    const waiting = async () =>
      Number(
        (
          await admin.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'prism:pg-batch-cancel' AND wait_event_type = 'Lock'",
          )
        ).rows[0].n,
      );
    try {
      const controllers = [new AbortController(), new AbortController()];
      const calls = controllers.map((c, i) =>
        kv.get(ns, `r${i}`, { kind: "all" }, { ...ALL, signal: c.signal }),
      );
      await expect.poll(waiting, { timeout: 2000, interval: 20 }).toBe(1);
      for (const controller of controllers) controller.abort();
      for (const call of calls) expect(isPrismError(await rejection(call), "Cancelled")).toBe(true);
      // Still locked, yet nothing of ours waits for it any more.
      await expect.poll(waiting, { timeout: 2000, interval: 20 }).toBe(0);
    } finally {
      await release();
    }
    expect((await kv.get(ns, "r0", { kind: "all" }, ALL)).items).toEqual([]);
  });

  it("rejects every caller of a failed batch with the mapped error", async () => {
    const impatient = await openTestBackend({ schema, statementTimeoutMs: 100 }, "pg-batch-timeout");
    const release = await lockItems();
    try {
      const calls = ["a", "b", "c"].map((id) => impatient.keyvalue!.get("ns", id, { kind: "all" }, ALL));
      for (const call of calls) {
        const error = await rejection(call);
        expect(isPrismError(error, "DeadlineExceeded"), String(error)).toBe(true);
      }
    } finally {
      await release();
      await impatient.close();
    }
  });
});
