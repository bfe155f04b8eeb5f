import { eventBytes, matchesTags, type TsEvent, type TsNamespaceSettings } from "@prism/core";
import { type ReadCall, readPage } from "./ts-read.js";
import { decodeEventMessage, parseEventSubject, seriesFilter } from "./ts-subjects.js";

/** Events per catch-up page and per live fetch: the most a tail holds beyond what was asked. */
const TAIL_BATCH = 256;
/** Bytes (`eventBytes`) of one batch handed out, unless it is one event: one gRPC message's worth. */
const TAIL_BATCH_BYTES = 4 * 1024 * 1024;
/** How long one live pull request waits at the server before the next is sent. */
const LIVE_EXPIRES_MS = 30_000;

/** What a tail follows. */
export interface TailPlan {
  settings: TsNamespaceSettings;
  startUs: bigint | undefined;
  tagFilter: Record<string, string>;
}

/**
 * Stored events from `startUs` with a stream sequence up to `lastSeq`, in read order, one page at a
 * time (each page is fetched only when the consumer asks for it).
 */
export async function* catchUp(call: ReadCall, plan: TailPlan, lastSeq: number): AsyncGenerator<TsEvent[]> {
  if (plan.startUs === undefined || lastSeq === 0) return;
  let after: TsEvent | undefined;
  let fromSeq: number | undefined;
  for (;;) {
    const { events, more, resumeSeq } = await readPage(call, {
      settings: plan.settings,
      startUs: plan.startUs,
      endUs: undefined,
      descending: false,
      tagFilter: plan.tagFilter,
      limitEvents: TAIL_BATCH,
      limitBytes: TAIL_BATCH_BYTES,
      after,
      untilSeq: lastSeq,
      fromSeq,
    });
    if (events.length > 0) yield events;
    after = events.at(-1);
    if (!more || !after) return;
    // Everything stored before `resumeSeq` was returned already or is not for this tail: the
    // next page starts there instead of rescanning the accept window (a backlog costs about one
    // pass, not one pass per page).
    fromSeq = resumeSeq;
  }
}

/**
 * Events stored after stream sequence `lastSeq`, in the order the stream accepted them, through
 * an ordered consumer (ephemeral, in memory, no acks; it re-creates itself from the last sequence
 * it delivered after a gap or a reconnect). One bounded pull request at a time, sent when the
 * consumer asks for more: a slow consumer leaves messages on the server. A batch is handed out
 * as soon as the server says nothing more is pending, so a quiet series does not wait for a
 * full batch. Returns when `signal` fires; the consumer is deleted on the way out.
 */
export async function* live(call: ReadCall, plan: TailPlan, lastSeq: number): AsyncGenerator<TsEvent[]> {
  const { stream, token, wait, signal } = call;
  const consumer = await wait(
    stream.js.consumers.get(stream.streamName, {
      filter_subjects: [seriesFilter(stream, token)],
      opt_start_seq: lastSeq + 1,
    }),
    signal,
  );
  try {
    while (!signal?.aborted) {
      const messages = await wait(
        consumer.fetch({ max_messages: TAIL_BATCH, expires: LIVE_EXPIRES_MS }),
        signal,
      );
      const stop = () => messages.stop();
      signal?.addEventListener("abort", stop, { once: true });
      try {
        let batch: TsEvent[] = [];
        let bytes = 0;
        for await (const message of messages) {
          const key = parseEventSubject(stream, token, message.subject);
          const body = key && decodeEventMessage(message.data);
          const event: TsEvent | undefined = key && body && { ...key, ...body };
          if (event && matchesTags(event, plan.tagFilter)) {
            const size = eventBytes(event);
            if (batch.length > 0 && bytes + size > TAIL_BATCH_BYTES) {
              yield batch;
              batch = [];
              bytes = 0;
            }
            batch.push(event);
            bytes += size;
          }
          if (batch.length > 0 && (batch.length >= TAIL_BATCH || message.info.pending === 0)) {
            yield batch;
            batch = [];
            bytes = 0;
          }
        }
        if (batch.length > 0 && !signal?.aborted) yield batch;
      } finally {
        signal?.removeEventListener("abort", stop);
        messages.stop();
      }
    }
  } finally {
    // Ordered consumers also expire by themselves after 5 minutes without a pull.
    consumer.delete().catch(() => undefined);
  }
}
