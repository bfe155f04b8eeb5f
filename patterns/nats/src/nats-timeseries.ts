import {
  eventKey,
  PrismError,
  type TimeSeriesBackend,
  type TimeSeriesCapabilities,
  type TsCallOptions,
  type TsEvent,
  type TsReadOptions,
  type TsScanOptions,
  type TsScanResult,
  type TsTailOptions,
  type TsWriteOptions,
  throwIfAborted,
} from "@prism/core";
import { serverFeatures } from "./buckets.js";
import { isBucketGone, isStreamNotFound, toPrismError } from "./errors.js";
import type { NatsLink, NatsSession } from "./nats-link.js";
import { type ReadCall, readPage } from "./ts-read.js";
import { scanStream } from "./ts-scan.js";
import { decodeStreamCursor } from "./ts-scan-cursor.js";
import { type TsStream, type TsStreamSettings, TsStreams } from "./ts-streams.js";
import { encodeEventMessage, eventMessageBytes, eventSubject, seriesToken } from "./ts-subjects.js";
import { catchUp, live } from "./ts-tail.js";

/** Publishes in flight at once per write: enough to hide round trips, bounded for memory. */
const PUBLISH_WINDOW = 256;

/** JetStream's answer to a second message on a subject of a `discard_new_per_subject` stream. */
const PER_SUBJECT_LIMIT = 10077;

/**
 * TimeSeries on NATS JetStream (ADR-0013): one stream per namespace, one subject per event
 * (`ts-subjects.ts`), so the stream's one-message-per-subject limit with `discard_new_per_subject`
 * makes a replayed event a duplicate for as long as the event is stored. Writes are publishes
 * acknowledged by the stream; reads and the tail's catch-up are batched direct gets over the
 * arrival window that can hold the range (`ts-read.ts`); the live tail is an ordered consumer
 * (`ts-tail.ts`); retention is the stream's max age. Needs NATS 2.11+ (batched direct gets).
 */
export class NatsTimeSeries implements TimeSeriesBackend {
  readonly capabilities: TimeSeriesCapabilities = {
    liveTail: true,
    nativeRetention: true,
    arrivalIndexed: true,
  };
  /** Stream handles per connection: a new connection starts with none. */
  readonly #streams = new WeakMap<NatsSession, TsStreams>();

  constructor(
    private readonly link: NatsLink,
    private readonly backendName: string,
    private readonly settings: TsStreamSettings,
  ) {}

  async write(
    namespace: string,
    seriesId: string,
    events: TsEvent[],
    options: TsWriteOptions,
  ): Promise<{ written: number; duplicates: number }> {
    const { signal, settings } = options;
    try {
      throwIfAborted(signal);
      if (events.length === 0) return { written: 0, duplicates: 0 };
      const session = await this.link.session(signal);
      const maxPayload = session.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
      const unique = new Map<string, TsEvent>();
      for (const event of events) {
        if (eventMessageBytes(event) > maxPayload) {
          throw new PrismError("InvalidArgument", "event is larger than the backend stores in one message", {
            reason: "VALUE_TOO_LARGE",
            field: "events",
            metadata: { max_bytes: String(maxPayload) },
          });
        }
        if (!unique.has(eventKey(event))) unique.set(eventKey(event), event);
      }
      const counts = { written: 0, duplicates: events.length - unique.size };
      const streams = this.streamsOf(session);
      const token = seriesToken(seriesId);
      let pending = [...unique.values()];
      for (let attempt = 1; ; attempt++) {
        const stream = await this.link.call(streams.forWrite(namespace, settings), signal);
        const failed = await this.link.call(publishAll(stream, token, pending, counts, signal), signal);
        if (failed.length === 0) return counts;
        // A stream deleted behind our back is made again, once, for the events not yet stored.
        if (attempt > 1 || !isBucketGone(failed[0]!.error)) throw failed[0]!.error;
        streams.forget(namespace);
        pending = failed.map(({ event }) => event);
      }
    } catch (error) {
      throw toPrismError(error, this.backendName, signal);
    }
  }

  async read(
    namespace: string,
    seriesId: string,
    options: TsReadOptions,
  ): Promise<{ events: TsEvent[]; more: boolean }> {
    const { signal } = options;
    let session: NatsSession | undefined;
    try {
      throwIfAborted(signal);
      session = await this.link.session(signal);
      this.requireBatchedGets(session);
      const stream = await this.link.call(this.streamsOf(session).forRead(namespace), signal);
      if (!stream) return { events: [], more: false };
      return await readPage(this.readCall(stream, seriesId, signal), { ...options, untilSeq: undefined });
    } catch (error) {
      if (!isStreamNotFound(error)) throw toPrismError(error, this.backendName, signal);
      session && this.streamsOf(session).forget(namespace);
      return { events: [], more: false };
    }
  }

  async *tail(namespace: string, seriesId: string, options: TsTailOptions): AsyncIterable<TsEvent[]> {
    const { signal, settings, startUs, tagFilter } = options;
    try {
      throwIfAborted(signal);
      const session = await this.link.session(signal);
      this.requireBatchedGets(session);
      const stream = await this.link.call(this.streamsOf(session).forWrite(namespace, settings), signal);
      // The hand-over point: catch-up reads what the stream holds up to here, live what follows.
      const info = await this.link.call(session.jsm.streams.info(stream.streamName), signal);
      const lastSeq = info.state.last_seq;
      const call = this.readCall(stream, seriesId, signal);
      const plan = { settings, startUs, tagFilter };
      yield* catchUp(call, plan, lastSeq);
      yield* live(call, plan, lastSeq);
    } catch (error) {
      if (signal?.aborted) return;
      throw toPrismError(error, this.backendName, signal);
    }
  }

  /** The namespace's stream in sequence order, up to its last sequence when the scan started (`ts-scan.ts`). */
  async scan(namespace: string, options: TsScanOptions): Promise<TsScanResult> {
    const { signal } = options;
    let session: NatsSession | undefined;
    try {
      throwIfAborted(signal);
      session = await this.link.session(signal);
      this.requireBatchedGets(session);
      const stream = await this.link.call(this.streamsOf(session).forRead(namespace), signal);
      // No stream: nothing was ever written (or it is gone with its events); a cursor is still checked.
      if (!stream) {
        if (options.cursor !== undefined) decodeStreamCursor(namespace, options.cursor);
        return { events: [] };
      }
      return await scanStream(
        { stream, wait: (work, s) => this.link.call(work, s), signal },
        namespace,
        options,
      );
    } catch (error) {
      if (!isStreamNotFound(error)) throw toPrismError(error, this.backendName, signal);
      session && this.streamsOf(session).forget(namespace);
      return { events: [] };
    }
  }

  /** Sets the stream's max age from the namespace's retention (an update only when it differs). */
  async retain(namespace: string, options: TsCallOptions): Promise<{ removed?: number }> {
    const { signal, settings } = options;
    try {
      throwIfAborted(signal);
      const session = await this.link.session(signal);
      const streams = this.streamsOf(session);
      // Read the stream afresh: another gateway may have changed it since it was cached.
      streams.forget(namespace);
      await this.link.call(streams.forWrite(namespace, settings), signal);
      return {};
    } catch (error) {
      throw toPrismError(error, this.backendName, signal);
    }
  }

  /** The namespace's stream configuration as the server holds it (for tests and operators). */
  async streamInfo(namespace: string, signal?: AbortSignal) {
    const session = await this.link.session(signal);
    return this.link.call(this.streamsOf(session).info(namespace), signal);
  }

  private streamsOf(session: NatsSession): TsStreams {
    let streams = this.#streams.get(session);
    if (!streams) {
      streams = new TsStreams(session, this.settings);
      this.#streams.set(session, streams);
    }
    return streams;
  }

  private readCall(stream: TsStream, seriesId: string, signal: AbortSignal | undefined): ReadCall {
    return { stream, token: seriesToken(seriesId), wait: (work, s) => this.link.call(work, s), signal };
  }

  private requireBatchedGets(session: NatsSession): void {
    if (serverFeatures(session.nc.info?.version).multiLast) return;
    throw new PrismError(
      "FailedPrecondition",
      `backend ${this.backendName}: TimeSeries needs NATS 2.11 or later`,
      {
        metadata: { backend: this.backendName },
      },
    );
  }
}

/** An event whose publish failed for another reason than being stored already. */
interface FailedPublish {
  event: TsEvent;
  error: unknown;
}

/**
 * Publishes the events, {@link PUBLISH_WINDOW} at a time, counting each acknowledged one as
 * written and each the stream refused as stored already as a duplicate. Never rejects: failures
 * are returned, so one lost publish does not hide how many others landed.
 */
async function publishAll(
  stream: TsStream,
  token: string,
  events: TsEvent[],
  counts: { written: number; duplicates: number },
  signal: AbortSignal | undefined,
): Promise<FailedPublish[]> {
  const failed: FailedPublish[] = [];
  let next = 0;
  const worker = async () => {
    while (next < events.length && !signal?.aborted) {
      const event = events[next++]!;
      try {
        await stream.js.publish(eventSubject(stream, token, event), encodeEventMessage(event));
        counts.written++;
      } catch (error) {
        if (isStoredAlready(error)) counts.duplicates++;
        else failed.push({ event, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUBLISH_WINDOW, events.length) }, worker));
  return failed;
}

function isStoredAlready(error: unknown): boolean {
  return (
    typeof error === "object" && error !== null && (error as { code?: unknown }).code === PER_SUBJECT_LIMIT
  );
}
