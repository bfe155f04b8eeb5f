import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, chunked, type KeyValueBackend } from "@prism/core";
import { sqliteDriver } from "@prism/sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReEncryptJobs, type ReEncryptStatus, type Reseal } from "./reencrypt-job.js";

const dir = mkdtempSync(join(tmpdir(), "prism-reenc-"));
let backend: Backend;
let kv: KeyValueBackend;
beforeAll(async () => {
  backend = await sqliteDriver.open({ name: "local", options: { path: "kv.db" }, dataDir: dir });
  // As a namespace's binding sees it: chunked, so large values come whole.
  kv = chunked(backend.keyvalue!, { chunkBytes: 1024, maxValueBytes: 1 << 20 });
});
afterAll(async () => {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

const enc = new TextEncoder();
const dec = new TextDecoder();
const KEY = new Uint8Array();
const PAGE = { limitItems: 1000, limitBytes: 8 << 20 };

/** The fake envelope: "old:" values are under an old key; reseal tags them "new:". */
const tagNew: Reseal = async (value) => {
  const text = dec.decode(value);
  return text.startsWith("old:") ? enc.encode(`new:${text.slice(4)}`) : undefined;
};

async function fill(namespace: string, count: number, oldEvery = 1): Promise<void> {
  for (let i = 0; i < count; i++) {
    const tag = i % oldEvery === 0 ? "old" : "new";
    await kv.put(
      namespace,
      `r-${String(i).padStart(4, "0")}`,
      [{ key: KEY, value: enc.encode(`${tag}:${i}`) }],
      {},
    );
  }
}

async function values(namespace: string): Promise<Map<string, string>> {
  const { rows } = await kv.scan(namespace, PAGE);
  return new Map(rows.map((row) => [row.id, dec.decode(row.item.value)]));
}

async function finished(jobs: ReEncryptJobs, id: string): Promise<ReEncryptStatus> {
  for (;;) {
    const job = jobs.get(id)!;
    if (job.state !== "running") return job;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("ReEncryptJobs", () => {
  it("rewrites every value under an old key, across pages and chunked values, and counts", async () => {
    await fill("ns-a", 250, 3);
    const large = `old:${"x".repeat(5000)}`;
    const expires = Date.now() + 3_600_000;
    await kv.put("ns-a", "z-large", [{ key: KEY, value: enc.encode(large), expiresAt: expires }], {});
    const jobs = new ReEncryptJobs({ pageItems: 40 });
    const started = jobs.start({ namespace: "ns-a", kv, keyId: "k2", reseal: tagNew });
    expect(started).toMatchObject({ namespace: "ns-a", keyId: "k2", state: "running" });
    // One job per namespace: starting again returns the running one.
    expect(jobs.start({ namespace: "ns-a", kv, keyId: "k2", reseal: tagNew }).id).toBe(started.id);

    const job = await finished(jobs, started.id);
    expect(job).toMatchObject({ state: "succeeded", done: 251, rewritten: 84 + 1, skipped: 0, error: "" });
    expect(job.perSecond).toBeGreaterThan(0);
    const after = await values("ns-a");
    expect(after.size).toBe(251);
    for (const [id, value] of after) expect(value.startsWith("new:"), id).toBe(true);
    expect(after.get("z-large")).toBe(`new:${"x".repeat(5000)}`);
    const { items } = await kv.get("ns-a", "z-large", { kind: "all" }, PAGE);
    expect(items[0]!.expiresAt).toBe(expires);

    // A second pass finds nothing to do.
    const again = await finished(jobs, jobs.start({ namespace: "ns-a", kv, keyId: "k2", reseal: tagNew }).id);
    expect(again).toMatchObject({ state: "succeeded", done: 251, rewritten: 0 });
  });

  it("leaves a value a writer changed between the job's read and its write", async () => {
    await fill("ns-b", 20);
    const jobs = new ReEncryptJobs({ pageItems: 7 });
    const racing: Reseal = async (value) => {
      if (dec.decode(value) === "old:5") {
        // A client writes r-0005 (with the current key) while the job holds the old bytes.
        await kv.put("ns-b", "r-0005", [{ key: KEY, value: enc.encode("client:5") }], {});
      }
      return tagNew(value);
    };
    const job = await finished(jobs, jobs.start({ namespace: "ns-b", kv, keyId: "k2", reseal: racing }).id);
    expect(job).toMatchObject({ state: "succeeded", done: 20, rewritten: 19, skipped: 1 });
    expect((await values("ns-b")).get("r-0005")).toBe("client:5");
  });

  it("cancels after the value in hand, and waits for notBefore cancellably", async () => {
    await fill("ns-c", 30);
    const jobs = new ReEncryptJobs({ pageItems: 5 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reached!: () => void;
    const atTen = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const blocking: Reseal = async (value) => {
      if (dec.decode(value) === "old:10") {
        reached();
        await held;
      }
      return tagNew(value);
    };
    const { id } = jobs.start({ namespace: "ns-c", kv, keyId: "k2", reseal: blocking });
    await atTen;
    const cancelling = jobs.cancel(id);
    release();
    const job = (await cancelling)!;
    expect(job.state).toBe("cancelled");
    expect(job.done).toBe(11);
    const after = await values("ns-c");
    expect([...after.values()].filter((v) => v.startsWith("old:"))).toHaveLength(19);

    const waiting = jobs.start({
      namespace: "ns-c",
      kv,
      keyId: "k3",
      reseal: tagNew,
      notBefore: Date.now() + 3_600_000,
    });
    expect(waiting.state).toBe("running");
    expect(await jobs.cancel(waiting.id)).toMatchObject({ state: "cancelled", done: 0 });
    expect(await jobs.cancel("reenc-unknown")).toBeUndefined();
  });

  it("reports a failing reseal as failed, with the error's message", async () => {
    await fill("ns-d", 3);
    const jobs = new ReEncryptJobs();
    const broken: Reseal = async () => {
      throw new Error("secret value jane@example.com");
    };
    const job = await finished(jobs, jobs.start({ namespace: "ns-d", kv, keyId: "k2", reseal: broken }).id);
    expect(job).toMatchObject({ state: "failed", done: 0, error: "internal error (see the gateway log)" });
  });
});
