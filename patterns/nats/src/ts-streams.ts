import type { JetStreamClient, JetStreamManager, StreamConfig, StreamInfo } from "@nats-io/jetstream";
import { jetstream } from "@nats-io/jetstream";
import type { TsNamespaceSettings } from "@prism/core";
import { isStreamNotFound } from "./errors.js";
import type { NatsSession } from "./nats-link.js";
import { type TsLayout, tsLayout } from "./ts-subjects.js";

/** Milliseconds as the nanoseconds of JetStream's API. */
const nanos = (ms: number): number => ms * 1_000_000;

/** The longest duration JetStream's API takes, in whole milliseconds. */
const MAX_DURATION_MS = 9_223_372_036_854;

/** NATS's default duplicate window; ours stays at most the stream's max age, as NATS requires. */
const DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

/** How TimeSeries streams are named and made. */
export interface TsStreamSettings {
  bucketPrefix: string;
  replicas: number;
  requestTimeoutMs: number;
}

/** One namespace's event stream on one connection. */
export interface TsStream extends TsLayout {
  session: NatsSession;
  js: JetStreamClient;
  /** The max age the stream was last seen or set with, in ms (0 = none). */
  maxAgeMs: number;
}

/**
 * The stream's max age for a namespace's settings. Not `retentionMs` alone: the stream ages a
 * message from its arrival, and an event written `acceptFutureMs` ahead of its time arrives that
 * much before it, so it must outlive its arrival by `retentionMs + acceptFutureMs` to stay
 * readable for `retentionMs` after its event time. 0 (keep forever) when retention is not set.
 */
export function streamMaxAgeMs(settings: TsNamespaceSettings): number {
  const { retentionMs, acceptFutureMs } = settings;
  const maxAgeMs = retentionMs + Math.max(0, acceptFutureMs);
  // JetStream holds max_age as a Go duration (int64 nanoseconds, about 292 years).
  if (!Number.isFinite(maxAgeMs) || retentionMs <= 0 || maxAgeMs > MAX_DURATION_MS) return 0;
  return maxAgeMs;
}

/**
 * The TimeSeries streams of one connection, per namespace. A stream is created on the first
 * write, tail or `retain`, with the namespace's max age; a call whose settings ask for another
 * max age updates the stream in place (NATS applies a new max age to stored messages too).
 * Handles are cached; a caller that finds a stream gone calls {@link forget} and asks again.
 */
export class TsStreams {
  readonly #streams = new Map<string, Promise<TsStream>>();
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;

  constructor(
    private readonly session: NatsSession,
    private readonly settings: TsStreamSettings,
  ) {
    this.#jsm = session.jsm;
    this.#js = jetstream(session.nc, { timeout: settings.requestTimeoutMs });
  }

  /** The namespace's stream, created if missing, its max age brought in line with `settings`. */
  async forWrite(namespace: string, settings: TsNamespaceSettings): Promise<TsStream> {
    const wanted = streamMaxAgeMs(settings);
    const cachedStream = this.#streams.get(namespace);
    if (cachedStream) {
      const stream = await cachedStream;
      if (stream.maxAgeMs === wanted) return stream;
      this.forget(namespace);
    }
    return cached(this.#streams, namespace, () => this.ensure(namespace, wanted));
  }

  /** The namespace's stream when it exists (a read of a namespace never written needs none). */
  async forRead(namespace: string): Promise<TsStream | undefined> {
    const known = this.#streams.get(namespace);
    if (known) return known;
    const layout = this.layout(namespace);
    let info: StreamInfo;
    try {
      info = await this.#jsm.streams.info(layout.streamName);
    } catch (error) {
      // Not cached: another gateway instance may create the stream at any moment.
      if (isStreamNotFound(error)) return undefined;
      throw error;
    }
    return this.handle(layout, info);
  }

  /** The stream's current configuration (for `retain` and tests). */
  info(namespace: string): Promise<StreamInfo> {
    return this.#jsm.streams.info(this.layout(namespace).streamName);
  }

  /** Drops a cached handle whose stream turned out to be gone or stale. */
  forget(namespace: string): void {
    this.#streams.delete(namespace);
  }

  layout(namespace: string): TsLayout {
    return tsLayout(this.settings.bucketPrefix, namespace);
  }

  private async ensure(namespace: string, maxAgeMs: number): Promise<TsStream> {
    const layout = this.layout(namespace);
    let info: StreamInfo;
    try {
      info = await this.#jsm.streams.info(layout.streamName);
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
      info = await this.#jsm.streams.add(this.config(namespace, layout, maxAgeMs));
    }
    const current = info.config;
    if (Math.round(current.max_age / 1e6) !== maxAgeMs) {
      const maxAge = nanos(maxAgeMs);
      // NATS refuses a duplicate window longer than the max age.
      const window = maxAgeMs === 0 ? current.duplicate_window : Math.min(current.duplicate_window, maxAge);
      info = await this.#jsm.streams.update(layout.streamName, {
        ...current,
        max_age: maxAge,
        duplicate_window: window,
      });
    }
    return this.handle(layout, info);
  }

  private handle(layout: TsLayout, info: StreamInfo): TsStream {
    return {
      ...layout,
      session: this.session,
      js: this.#js,
      maxAgeMs: Math.round(info.config.max_age / 1e6),
    };
  }

  private config(
    namespace: string,
    layout: TsLayout,
    maxAgeMs: number,
  ): Partial<StreamConfig> & { name: string } {
    return {
      name: layout.streamName,
      description: `Prism TimeSeries namespace ${namespace}`,
      subjects: [`${layout.root}.>`],
      retention: "limits" as StreamConfig["retention"],
      storage: "file" as StreamConfig["storage"],
      num_replicas: this.settings.replicas,
      // One message per event subject, and a second one refused rather than replacing the
      // first: the stream itself is the idempotency record, for as long as the event is kept.
      max_msgs_per_subject: 1,
      discard: "new" as StreamConfig["discard"],
      discard_new_per_subject: true,
      max_age: nanos(maxAgeMs),
      duplicate_window: nanos(
        maxAgeMs === 0 ? DEFAULT_DUPLICATE_WINDOW_MS : Math.min(maxAgeMs, DEFAULT_DUPLICATE_WINDOW_MS),
      ),
      // Reads are batched direct gets by start time and subject filter (NATS 2.11+).
      allow_direct: true,
      deny_delete: true,
    };
  }
}

/** One in-flight or finished creation per name; a failed one is forgotten so the next call retries. */
function cached<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let pending = map.get(key);
  if (!pending) {
    pending = make();
    map.set(key, pending);
    pending.catch(() => {
      if (map.get(key) === pending) map.delete(key);
    });
  }
  return pending;
}
