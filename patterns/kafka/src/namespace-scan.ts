import { eventBytes, type TsEvent, type TsScanOptions, type TsScanResult, throwIfAborted } from "@prism/core";
import { hasType } from "./errors.js";
import { decodeEvent } from "./event-encoding.js";
import type { KafkaOptions } from "./kafka-options.js";
import type { PartitionLog } from "./partition-log.js";
import { decodeScanCursor, encodeScanCursor, MAX_RECORDED_ENDS, type ScanState } from "./scan-cursor.js";
import { appendWindow } from "./series-scan.js";
import { topicName } from "./topics.js";

/** What a namespace scan needs from the backend. */
export interface NamespaceScanContext {
  log: PartitionLog;
  options: KafkaOptions;
}

/**
 * Fetches per page at most: a page over a stretch of expired events (or of partitions with
 * nothing left) answers with fewer events, or none, and its cursor, instead of reading on.
 */
const MAX_FETCHES_PER_PAGE = 16;
/** The smallest fetch a page asks for, whatever its `limitBytes` (the broker returns whole batches). */
const MIN_FETCH_BYTES = 64 * 1024;

/**
 * One page of every event of a namespace's topic, in offset order, partition after partition.
 * Each partition is read from the first offset appended when an unexpired event could be
 * (`appendWindow` of the retention cut-off) to its end offset: the high watermark recorded in
 * the cursor when the scan first needed it (on the first page for the first
 * {@link MAX_RECORDED_ENDS} partitions), so the scan ends however fast the topic grows, and
 * reads every event stored before it started. A log may hold an event twice (a cross-process
 * write race): the scan returns each copy. Offsets deleted by retention meanwhile are skipped.
 *
 * @example const { events, cursor } = await scanNamespace({ log, options }, "demo-ts", scanOptions)
 */
export async function scanNamespace(
  context: NamespaceScanContext,
  namespace: string,
  scan: TsScanOptions,
): Promise<TsScanResult> {
  const { log, options } = context;
  throwIfAborted(scan.signal);
  const restored = scan.cursor === undefined ? undefined : decodeScanCursor(namespace, scan.cursor);
  const topic = topicName(options.topicPrefix, namespace);
  const partitions = await log.partitionCount(topic);
  // No topic: nothing was ever written, or the namespace's topic is gone with its events.
  if (partitions === undefined) return { events: [] };
  const state: ScanState = restored ?? { partitions, partition: 0, next: undefined, ends: [] };
  const cutoffUs = BigInt(Date.now() - scan.settings.retentionMs) * 1000n;
  const { fromMs } = appendWindow(cutoffUs, cutoffUs + 1n, scan.settings, options.clockSkewMs);
  const page = new ScanPage(scan.limitEvents, scan.limitBytes);
  const maxBytes = Math.min(options.fetchBytes, Math.max(MIN_FETCH_BYTES, scan.limitBytes));

  for (let fetches = 0; state.partition < state.partitions; ) {
    throwIfAborted(scan.signal);
    if (state.ends.length === 0) state.ends = await endOffsets(log, topic, state);
    const end = state.ends[0]!;
    if (state.next !== undefined && state.next >= end) {
      nextPartition(state);
      continue;
    }
    if (page.full || fetches === MAX_FETCHES_PER_PAGE) break;
    state.next ??= await log.offset(topic, state.partition, { timestampMs: fromMs });
    if (state.next >= end) continue;
    fetches++;
    let batch: Awaited<ReturnType<PartitionLog["fetch"]>>;
    try {
      batch = await log.fetch(topic, state.partition, state.next, { maxBytes, maxWaitMs: 0 });
    } catch (error) {
      if (!hasType(error, "OFFSET_OUT_OF_RANGE")) throw error;
      // Retention deleted what the cursor points at (go on from what is left), or the offset is
      // past the partition's end (a topic made again since: nothing of the scan is left there).
      const earliest = await log.offset(topic, state.partition, "earliest");
      state.next = earliest > state.next ? earliest : end;
      continue;
    }
    const from = state.next;
    for (const record of batch.records) {
      const offset = BigInt(record.offset);
      if (offset >= end) break;
      // A record without a key is no event of ours (every event is keyed by its series).
      if (record.key !== null) {
        const event = decodeEvent(record);
        if (event.eventTimeUs >= cutoffUs && !page.add(record.key.toString("utf8"), event)) break;
      }
      state.next = offset + 1n;
    }
    if (page.full) continue;
    // Past control records and gaps; a fetch that moves nothing means the partition has no more.
    state.next = batch.nextOffset > from ? minOffset(batch.nextOffset, end) : end;
  }
  const { events } = page;
  return state.partition < state.partitions
    ? { events, cursor: encodeScanCursor(namespace, state) }
    : { events };
}

/** The events of one page, within its limits (the first event always fits). */
class ScanPage {
  readonly events: { seriesId: string; event: TsEvent }[] = [];
  full = false;
  private bytes = 0;

  constructor(
    private readonly limitEvents: number,
    private readonly limitBytes: number,
  ) {}

  /** Adds the event when it fits; false (and full from then on) when it does not. */
  add(seriesId: string, event: TsEvent): boolean {
    const size = eventBytes(event);
    if (this.events.length > 0 && this.bytes + size > this.limitBytes) this.full = true;
    if (this.full) return false;
    this.events.push({ seriesId, event });
    this.bytes += size;
    if (this.events.length >= this.limitEvents) this.full = true;
    return true;
  }
}

/** High watermarks of the next partitions from the current one, as many as a cursor records. */
function endOffsets(log: PartitionLog, topic: string, state: ScanState): Promise<bigint[]> {
  const count = Math.min(MAX_RECORDED_ENDS, state.partitions - state.partition);
  return Promise.all(
    Array.from({ length: count }, (_, i) => log.offset(topic, state.partition + i, "latest")),
  );
}

function nextPartition(state: ScanState): void {
  state.partition++;
  state.next = undefined;
  state.ends.shift();
}

const minOffset = (a: bigint, b: bigint): bigint => (a < b ? a : b);
