import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { deleteNatsStreams, isHealthy, stackEndpoints, startServer } from "@prism/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b, s } from "../support/bytes.js";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";

/**
 * A gateway killed (`kill -9`) and restarted while eight clients keep writing to a NATS namespace
 * that already holds many records must serve again within seconds, and must have kept every write
 * it acknowledged. (It once spent over a minute on a core before it took a connection: the chunk
 * sweep's scans listed and sorted every key of the namespace on the event loop; ADR-0010.)
 */
const run = randomBytes(3).toString("hex");
const PREFIX = `restart${run}`;
const NAMESPACE = "big";
/** Items preloaded (as records of {@link ITEMS_PER_RECORD} items: one subject each in NATS). */
const PRELOAD = 50_000;
const ITEMS_PER_RECORD = 200;
const WRITERS = 8;
/** From the restarted gateway saying it listens to its first acknowledged write. */
const SERVE_AGAIN_MS = 5_000;
/** From spawning the new process to its first acknowledged write (tsx alone takes seconds on a busy machine). */
const RESTART_MS = 20_000;

type KvClient = PromiseClient<typeof KeyValueService.method> & { close(): void };

describe("a gateway restarted under write load on a large NATS namespace", () => {
  const { natsUrl } = stackEndpoints();
  const config = {
    backends: { nats: { type: "nats", url: "env:PRISM_TEST_NATS_URL", bucketPrefix: PREFIX } },
    namespaces: [{ name: NAMESPACE, pattern: "keyvalue", backend: "nats" }],
    // The chunk sweep scans the namespace; it once listed every key on each step, on the event
    // loop, right at start. Sweep every second here so the restarted gateway serves while it does.
    keyvalue: { chunkSweepIntervalMs: 1_000 },
  };
  const env = { PRISM_TEST_NATS_URL: natsUrl };
  let gateway: GatewayProcess | undefined;

  beforeAll(async () => {
    if (!(await isHealthy("nats"))) await startServer("nats");
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop("SIGKILL");
    if (gateway) removeDataDir(gateway.dataDir);
    await deleteNatsStreams(`KV_${PREFIX}_`);
  }, 60_000);

  it("serves again within seconds and keeps every acknowledged write", async () => {
    gateway = await startGatewayProcess(config, { env });
    let kv: KvClient = createPromiseClient(KeyValueService, { address: gateway.address });
    // Many items per put keeps the preload to seconds; each item is one subject in the stream.
    const preloadStarted = Date.now();
    const value = b("x".repeat(200));
    const records = Array.from({ length: PRELOAD / ITEMS_PER_RECORD }, (_, r) => `pre-${r}`);
    const loader = async () => {
      for (let id = records.pop(); id !== undefined; id = records.pop()) {
        const items = Array.from({ length: ITEMS_PER_RECORD }, (_, i) => ({ key: b(`k${i}`), value }));
        await kv.put({ namespace: NAMESPACE, id, items }, { timeoutMs: 30_000 });
      }
    };
    await Promise.all(Array.from({ length: 8 }, loader));
    const preloadMs = Date.now() - preloadStarted;

    // Eight writers, each putting its own ids in sequence; an acknowledged id is remembered.
    const acknowledged: string[] = [];
    let writing = true;
    const writer = async (w: number) => {
      for (let i = 0; writing; i++) {
        const id = `w${w}-${i}`;
        try {
          await kv.put(
            { namespace: NAMESPACE, id, items: [{ key: b(""), value: b(id) }] },
            { timeoutMs: 2_000 },
          );
          acknowledged.push(id);
        } catch {
          await sleep(20); // the gateway is down: try the next id shortly
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await sleep(1_500);
    const beforeKill = acknowledged.length;
    await gateway.stop("SIGKILL");
    kv.close();

    const restartStarted = Date.now();
    gateway = await startGatewayProcess(config, { env, dataDir: gateway.dataDir });
    const listeningMs = Date.now() - restartStarted;
    kv = createPromiseClient(KeyValueService, { address: gateway.address });
    const countAtRestart = acknowledged.length;
    let servedMs: number | undefined;
    while (Date.now() - restartStarted < RESTART_MS * 2) {
      if (acknowledged.length > countAtRestart) {
        servedMs = Date.now() - restartStarted;
        break;
      }
      await sleep(10);
    }
    const get = await kv.get(
      { namespace: NAMESPACE, id: "pre-123", predicate: { case: "keys", value: { keys: [b("k7")] } } },
      { timeoutMs: 5_000 },
    );
    await sleep(1_000);
    writing = false;
    await Promise.all(writers);

    console.log(
      `nats restart: preload ${PRELOAD} records ${preloadMs} ms; ${beforeKill} writes before kill; ` +
        `listening ${listeningMs} ms and first write served ${servedMs} ms after restart; ` +
        `${acknowledged.length} writes acknowledged`,
    );
    expect(get.items.map((item) => s(item.value).length)).toEqual([200]);
    expect(beforeKill).toBeGreaterThan(0);
    expect(servedMs, "no write was served after the restart").toBeDefined();
    expect(servedMs! - listeningMs).toBeLessThan(SERVE_AGAIN_MS);
    expect(servedMs!).toBeLessThan(RESTART_MS);

    // Every acknowledged write is there.
    const missing: string[] = [];
    for (let start = 0; start < acknowledged.length; start += 64) {
      const batch = acknowledged.slice(start, start + 64);
      const found = await Promise.all(
        batch.map(async (id) => {
          const { items } = await kv.get({ namespace: NAMESPACE, id }, { timeoutMs: 5_000 });
          return items.length === 1 && s(items[0]!.value) === id;
        }),
      );
      found.forEach((ok, i) => {
        if (!ok) missing.push(batch[i]!);
      });
    }
    kv.close();
    expect(missing).toEqual([]);
  }, 120_000);
});
