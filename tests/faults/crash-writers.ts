import { setTimeout as sleep } from "node:timers/promises";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import { b, s } from "../support/bytes.js";

/**
 * Writers for the crash-durability test: each loop writes unique ids (KeyValue) or unique events
 * (TimeSeries) to one namespace as fast as the gateway answers, and remembers exactly the writes
 * that were answered OK. A write that failed (the gateway was killed under it) may or may not be
 * stored; an acknowledged one must be.
 */
export type KvClient = PromiseClient<typeof KeyValueService.method> & { close(): void };
export type TsClient = PromiseClient<typeof TimeSeriesService.method> & { close(): void };

/** The clients of the gateway currently running; `undefined` while it is down. */
export interface Clients {
  kv: KvClient;
  ts: TsClient;
}

export function connect(address: string): Clients {
  return {
    kv: createPromiseClient(KeyValueService, { address }),
    ts: createPromiseClient(TimeSeriesService, { address }),
  };
}

export function disconnect(clients: Clients | undefined): void {
  clients?.kv.close();
  clients?.ts.close();
}

/** What the writers of one namespace did. */
export interface Ledger {
  namespace: string;
  pattern: "keyvalue" | "timeseries";
  /** KeyValue: ids whose Put was acknowledged. TimeSeries: event ids of acknowledged Writes. */
  acked: string[];
  /** Calls sent that did not answer OK (their writes may or may not be stored). */
  failed: number;
}

/** Every {@link LARGE_EVERY}th Put stores a value above the 1 MiB chunk size (chunked). */
export const LARGE_EVERY = 50;
const LARGE_BYTES = 1_536 * 1024;
const EVENTS_PER_WRITE = 4;
const CALL_DEADLINE_MS = 5_000;

/** The value a KeyValue id was written with: large ids (`big-…`) repeat the id to 1.5 MiB. */
export function valueWritten(id: string): Uint8Array {
  return id.startsWith("big-") ? Buffer.alloc(LARGE_BYTES, `${id};`) : b(`value of ${id}`);
}

/** Runs the namespace's writer loop `w` until `running()` turns false. */
export async function writeUntilStopped(
  ledger: Ledger,
  w: number,
  clients: () => Clients | undefined,
  running: () => boolean,
): Promise<void> {
  for (let i = 0; running(); ) {
    const current = clients();
    if (!current) {
      await sleep(20); // the gateway is down: nothing to send to
      continue;
    }
    try {
      if (ledger.pattern === "keyvalue") {
        const id = `${i % LARGE_EVERY === LARGE_EVERY - 1 ? "big" : "w"}-${w}-${i}`;
        i++;
        await current.kv.put(
          { namespace: ledger.namespace, id, items: [{ key: new Uint8Array(), value: valueWritten(id) }] },
          { timeoutMs: CALL_DEADLINE_MS },
        );
        ledger.acked.push(id);
      } else {
        const eventIds = Array.from({ length: EVENTS_PER_WRITE }, (_, k) => `e-${w}-${i}-${k}`);
        i++;
        const eventTime = timestampFromMs(Date.now());
        await current.ts.write(
          {
            namespace: ledger.namespace,
            seriesId: seriesOf(w),
            events: eventIds.map((eventId) => ({ eventTime, eventId, payload: b(eventId), tags: {} })),
          },
          { timeoutMs: CALL_DEADLINE_MS },
        );
        ledger.acked.push(...eventIds);
      }
    } catch {
      ledger.failed++;
      await sleep(20);
    }
  }
}

/** The series a TimeSeries writer loop writes to. */
export function seriesOf(w: number): string {
  return `series-${w}`;
}

/** Acknowledged KeyValue ids whose Get does not return exactly the value written. */
export async function lostKeyValues(kv: KvClient, ledger: Ledger): Promise<string[]> {
  const lost: string[] = [];
  for (let start = 0; start < ledger.acked.length; start += 32) {
    const batch = ledger.acked.slice(start, start + 32);
    const found = await Promise.all(
      batch.map(async (id) => {
        const { items } = await kv.get({ namespace: ledger.namespace, id }, { timeoutMs: 15_000 });
        return items.length === 1 && Buffer.from(items[0]!.value).equals(valueWritten(id));
      }),
    );
    found.forEach((ok, i) => {
      if (!ok) lost.push(batch[i]!);
    });
  }
  return lost;
}

/** Acknowledged event ids not found (with their payload) in a full Read of their writer's series. */
export async function lostEvents(
  ts: TsClient,
  ledger: Ledger,
  writers: number,
  since: number,
): Promise<string[]> {
  const stored = new Set<string>();
  for (let w = 0; w < writers; w++) {
    let pageToken = "";
    do {
      const page = await ts.read(
        {
          namespace: ledger.namespace,
          seriesId: seriesOf(w),
          start: timestampFromMs(since),
          pageSizeEvents: 5_000,
          pageToken,
        },
        { timeoutMs: 15_000 },
      );
      for (const event of page.events) {
        if (s(event.payload) === event.eventId) stored.add(event.eventId);
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
  }
  return ledger.acked.filter((eventId) => !stored.has(eventId));
}
