import type { DirectBatchOptions, StoredMsg } from "@nats-io/jetstream";
import { eventBytes, type TsEvent, type TsScanOptions, type TsScanResult, throwIfAborted } from "@prism/core";
import type { Waiter } from "./batches.js";
import { decodeId } from "./key-encoding.js";
import { CLOCK_SKEW_MS } from "./ts-read.js";
import { decodeStreamCursor, encodeStreamCursor } from "./ts-scan-cursor.js";
import type { TsStream } from "./ts-streams.js";
import { decodeEventMessage, parseEventSubject, type TsLayout } from "./ts-subjects.js";

/** How a scan waits on the server: the link's waiter and the caller's signal. */
export interface ScanCall {
  stream: TsStream;
  wait: Waiter;
  signal: AbortSignal | undefined;
}

/** Direct gets per page at most: a page over expired or foreign messages ends early, with its cursor. */
const MAX_ROUNDS_PER_PAGE = 16;
/** Messages per direct-get response at most, and the bounds of its bytes (one message may exceed them). */
const MAX_BATCH = 1024;
const MIN_BATCH_BYTES = 64 * 1024;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** The latest time a `Date` holds. */
const MAX_DATE_MS = 8.64e15;

/**
 * One page of a namespace's stream in sequence (arrival) order, across all series: batched direct
 * gets on the stream's subjects, from the first message that can hold an unexpired event (arrival
 * time `cutoff - acceptFutureMs`, less clock slack) to the stream's last sequence when the scan
 * started, which the cursor carries: the scan ends however fast the stream grows. A subject holds
 * one event, so no event appears twice. Messages of another format are not events and are skipped,
 * as reads skip them.
 *
 * @example const { events, cursor } = await scanStream(call, "demo-ts", options)
 */
export async function scanStream(
  call: ScanCall,
  namespace: string,
  options: TsScanOptions,
): Promise<TsScanResult> {
  const { stream, wait, signal } = call;
  throwIfAborted(signal);
  // Undefined `nextSeq`: the first page, which starts by arrival time.
  let nextSeq: number | undefined;
  let lastSeq: number;
  if (options.cursor === undefined) {
    const info = await wait(stream.session.jsm.streams.info(stream.streamName), signal);
    if (info.state.messages === 0) return { events: [] };
    lastSeq = info.state.last_seq;
  } else {
    ({ nextSeq, lastSeq } = decodeStreamCursor(namespace, options.cursor));
  }
  const cutoffUs = BigInt(Date.now() - options.settings.retentionMs) * 1000n;
  const fromMs = Number(cutoffUs / 1000n) - options.settings.acceptFutureMs - CLOCK_SKEW_MS;
  const events: { seriesId: string; event: TsEvent }[] = [];
  let bytes = 0;
  const maxBytes = Math.min(MAX_BATCH_BYTES, Math.max(MIN_BATCH_BYTES, options.limitBytes));

  for (let round = 0; round < MAX_ROUNDS_PER_PAGE && events.length < options.limitEvents; round++) {
    throwIfAborted(signal);
    const limits = {
      next_by_subj: `${stream.root}.>`,
      batch: Math.min(MAX_BATCH, options.limitEvents - events.length),
      max_bytes: maxBytes,
    };
    const request: DirectBatchOptions =
      nextSeq === undefined
        ? { ...limits, start_time: new Date(Math.min(Math.max(0, fromMs), MAX_DATE_MS)) }
        : { ...limits, seq: nextSeq };
    const messages = await wait(collect(stream, request), signal);
    if (messages.length === 0) return { events };
    for (const message of messages) {
      if (message.seq > lastSeq) return { events };
      const scanned = scannedEvent(stream, message);
      if (scanned && scanned.event.eventTimeUs >= cutoffUs) {
        const size = eventBytes(scanned.event);
        const full = events.length === options.limitEvents;
        if (full || (events.length > 0 && bytes + size > options.limitBytes)) {
          return { events, cursor: encodeStreamCursor(namespace, { nextSeq: message.seq, lastSeq }) };
        }
        events.push(scanned);
        bytes += size;
      }
      nextSeq = message.seq + 1;
      if (nextSeq > lastSeq) return { events };
    }
  }
  // Set: the first round either read a message or ended the scan.
  return { events, cursor: encodeStreamCursor(namespace, { nextSeq: nextSeq!, lastSeq }) };
}

/** The series and event a message holds; undefined when it is not one of ours. */
function scannedEvent(
  layout: TsLayout,
  message: StoredMsg,
): { seriesId: string; event: TsEvent } | undefined {
  const prefix = `${layout.root}.`;
  const dot = message.subject.indexOf(".", prefix.length);
  if (!message.subject.startsWith(prefix) || dot < 0) return undefined;
  const token = message.subject.slice(prefix.length, dot);
  const seriesId = decodeId(token);
  const key = seriesId === undefined ? undefined : parseEventSubject(layout, token, message.subject);
  const body = key && decodeEventMessage(message.data);
  if (seriesId === undefined || !key || !body) return undefined;
  return { seriesId, event: { ...key, ...body } };
}

/**
 * One direct-get response; empty when no message matches (the server answers 404). As in
 * `ts-read.ts`.
 */
async function collect(stream: TsStream, request: DirectBatchOptions): Promise<StoredMsg[]> {
  const messages: StoredMsg[] = [];
  try {
    for await (const message of await stream.session.jsm.direct.getBatch(stream.streamName, request)) {
      messages.push(message);
    }
  } catch (error) {
    const { name, code } = (typeof error === "object" && error !== null ? error : {}) as {
      name?: unknown;
      code?: unknown;
    };
    if (name !== "JetStreamStatusError" || code !== 404) throw error;
  }
  return messages;
}
