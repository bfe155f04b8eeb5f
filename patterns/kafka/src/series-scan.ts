import { type TsEvent, type TsNamespaceSettings, throwIfAborted } from "@prism/core";
import { hasType } from "./errors.js";
import { decodeEvent, isOfSeries } from "./event-encoding.js";
import type { PartitionLog } from "./partition-log.js";

/** Where a series lives: its topic, partition and message key. */
export interface SeriesLocation {
  topic: string;
  partition: number;
  key: Buffer;
}

/** Which offsets a scan reads: `[fromOffset, toOffset)`, ending early past `stopAfterMs`. */
export interface ScanBounds {
  fromOffset: bigint;
  toOffset: bigint;
  /** Stop at the first record appended after this time (epoch ms); undefined = read to `toOffset`. */
  stopAfterMs?: number;
}

/**
 * The append-time window in which events with times in `[loUs, hiUs)` were stored. The gateway
 * accepts an event with time `t` at a wall time in `[t - acceptFutureMs, t + acceptPastMs]`; the
 * broker stamps the append, which differs from the gateway's clock by at most `clockSkewMs`.
 */
export function appendWindow(
  loUs: bigint,
  hiUs: bigint,
  settings: TsNamespaceSettings,
  clockSkewMs: number,
): { fromMs: number; stopAfterMs: number } {
  return {
    fromMs: usToMs(loUs, "floor") - settings.acceptFutureMs - clockSkewMs,
    stopAfterMs: usToMs(hiUs, "ceil") + settings.acceptPastMs + clockSkewMs,
  };
}

/**
 * The offsets of a partition that hold events with times in `[loUs, hiUs)`: as of now, or below
 * `endOffset` (a tail's hand-over) when given.
 */
export async function boundsFor(
  log: PartitionLog,
  location: SeriesLocation,
  window: { fromMs: number; stopAfterMs: number },
  endOffset?: bigint,
): Promise<ScanBounds> {
  const toOffset = endOffset ?? (await log.offset(location.topic, location.partition, "latest"));
  const fromOffset = await log.offset(location.topic, location.partition, { timestampMs: window.fromMs });
  return { fromOffset, toOffset, stopAfterMs: window.stopAfterMs };
}

/**
 * Reads the series' events in `bounds` in offset order, skipping other series by key, and hands
 * each to `visit` with its append time and offset. Fetches are bounded by `fetchBytes`; `signal` is checked
 * between them. Offsets deleted by retention meanwhile are skipped. Answers true when it read up
 * to `toOffset` (or the partition's end), false when it stopped at `stopAfterMs`.
 */
export async function scanSeries(
  log: PartitionLog,
  location: SeriesLocation,
  bounds: ScanBounds,
  options: { fetchBytes: number; signal?: AbortSignal | undefined },
  visit: (event: TsEvent, appendMs: number, offset: bigint) => void,
): Promise<boolean> {
  const { topic, partition, key } = location;
  let offset = bounds.fromOffset;
  while (offset < bounds.toOffset) {
    throwIfAborted(options.signal);
    let batch: Awaited<ReturnType<PartitionLog["fetch"]>>;
    try {
      batch = await log.fetch(topic, partition, offset, { maxBytes: options.fetchBytes, maxWaitMs: 0 });
    } catch (error) {
      if (!hasType(error, "OFFSET_OUT_OF_RANGE")) throw error;
      const earliest = await log.offset(topic, partition, "earliest");
      if (earliest <= offset) return true;
      offset = earliest;
      continue;
    }
    for (const record of batch.records) {
      const recordOffset = BigInt(record.offset);
      if (recordOffset >= bounds.toOffset) return true;
      const appendMs = Number(record.timestamp);
      if (bounds.stopAfterMs !== undefined && appendMs > bounds.stopAfterMs) return false;
      if (isOfSeries(record, key)) visit(decodeEvent(record), appendMs, recordOffset);
    }
    if (batch.nextOffset <= offset) return true;
    offset = batch.nextOffset;
  }
  return true;
}

/** Epoch microseconds to milliseconds, clamped to what a Kafka timestamp can hold. */
export function usToMs(us: bigint, round: "floor" | "ceil"): number {
  let ms = us / 1000n;
  if (round === "floor" && us < 0n && us % 1000n !== 0n) ms -= 1n;
  if (round === "ceil" && us > 0n && us % 1000n !== 0n) ms += 1n;
  const limit = BigInt(Number.MAX_SAFE_INTEGER) / 4n;
  return Number(ms > limit ? limit : ms < -limit ? -limit : ms);
}
