import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, removeDataDir, startBackendMatrix } from "../support/gateway-process.js";

/**
 * Large values under concurrency, end to end on every backend, as the outside client that found
 * lost writes ran it: values above the 1 MiB chunking threshold, several writers and readers of
 * one record at once. Every write is acknowledged, so the record must end whole as one of them,
 * every read must see one written value whole, and a Scan of the namespace must succeed.
 */
const BACKENDS = ["mem", "local", "pg", "nats"] as const;
const VALUE_BYTES = 1.5 * (1 << 20);
const WRITERS = 4;
const ROUNDS = 3;

let gateway: GatewayProcess;
let kv: PromiseClient<typeof KeyValueService.method> & { close(): void };

beforeAll(async () => {
  gateway = await startBackendMatrix("large", {
    namespaces: BACKENDS.map((backend) => ({ name: `large-${backend}`, pattern: "keyvalue", backend })),
  });
  kv = createPromiseClient(KeyValueService, { address: gateway.address });
}, 60_000);

afterAll(async () => {
  kv?.close();
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

/** A value whose every byte names its writer and round, so a mix of two values is detectable. */
const writtenValue = (writer: number, round: number) =>
  new Uint8Array(VALUE_BYTES).fill(round * 16 + writer + 1);

function expectWhole(value: Uint8Array, candidates: Set<number>): void {
  expect(value.length).toBe(VALUE_BYTES);
  const first = value[0]!;
  expect(candidates.has(first), `byte ${first} is not a written value`).toBe(true);
  expect(
    value.every((byte) => byte === first),
    "a value mixes bytes of two writes",
  ).toBe(true);
}

describe.each(BACKENDS)("large values on %s", (backend) => {
  const namespace = `large-${backend}`;

  it("concurrent writers of one key all succeed and the key ends whole as one of their values", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(
        Array.from({ length: WRITERS }, (_, writer) =>
          kv.put(
            {
              namespace,
              id: "contended",
              items: [{ key: new Uint8Array(), value: writtenValue(writer, round) }],
            },
            { timeoutMs: 60_000 },
          ),
        ),
      );
      const { items } = await kv.get({ namespace, id: "contended" }, { timeoutMs: 60_000 });
      expect(items).toHaveLength(1);
      expectWhole(items[0]!.value, new Set(Array.from({ length: WRITERS }, (_, w) => round * 16 + w + 1)));
    }
  }, 180_000);

  it("readers racing overwrites see an old or a new value, whole, never an error", async () => {
    await kv.put({ namespace, id: "raced", items: [{ key: new Uint8Array(), value: writtenValue(0, 0) }] });
    const written = new Set([1]);
    let writing = true;
    const writers = (async () => {
      for (let round = 1; round <= 4; round++) {
        written.add(round * 16 + 1);
        await kv.put(
          { namespace, id: "raced", items: [{ key: new Uint8Array(), value: writtenValue(0, round) }] },
          { timeoutMs: 60_000 },
        );
      }
      writing = false;
    })();
    const readers = Array.from({ length: 2 }, async () => {
      let reads = 0;
      while (writing || reads === 0) {
        const { items } = await kv.get({ namespace, id: "raced" }, { timeoutMs: 60_000 });
        expect(items).toHaveLength(1);
        expectWhole(items[0]!.value, written);
        reads++;
      }
      return reads;
    });
    await writers;
    const reads = await Promise.all(readers);
    expect(reads.every((n) => n > 0)).toBe(true);
  }, 180_000);

  it("a Scan of the whole namespace returns every record whole after the contention", async () => {
    const ids: string[] = [];
    for await (const message of kv.scan({ namespace }, { timeoutMs: 120_000 })) {
      for (const item of message.items) {
        expect(item.value.length).toBe(VALUE_BYTES);
        ids.push(message.id);
      }
    }
    expect(ids).toEqual(["contended", "raced"]);
  }, 180_000);
});
