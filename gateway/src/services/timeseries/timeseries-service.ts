import {
  abortError,
  PrismError,
  type TimeSeriesBackend,
  type TsEvent,
  type TsNamespaceSettings,
} from "@prism/core";
import type {
  Event,
  ReadRequest,
  ReadResponse,
  TailRequest,
  TailResponse,
  TimeSeriesService as TimeSeriesServiceDesc,
  WriteRequest,
  WriteResponse,
} from "@prism/proto/prism/timeseries/v1/timeseries";
import { Order } from "@prism/proto/prism/timeseries/v1/timeseries";
import type { TimeSeriesSettings } from "../../config/gateway-config.js";
import type { NamespacedContext } from "../../context.js";
import type { Logger } from "../../log.js";
import { valueCall } from "../../pii/namespace-values.js";
import { eventsFromStorage, eventsToStorage } from "../../pii/pattern-values.js";
import type { PatternPolicy } from "../../pipeline/serve.js";
import { invalid } from "../keyvalue/validate.js";
import { decodeReadToken, encodeReadToken, type ReadShape } from "./page-token.js";
import { checkEvents, checkSeriesId, checkTags, fromMicros, readLimits, toMicros } from "./validate.js";

/** Routing of TimeSeries calls; a Tail runs until cancelled, so it has no default deadline. */
export const TIMESERIES_POLICY: PatternPolicy<(typeof TimeSeriesServiceDesc)["method"]> = {
  pattern: "timeseries",
  access: { write: "write", read: "read", tail: "read" },
  openEnded: ["tail"],
};

/** The earliest time a Timestamp can express, in epoch microseconds. */
const MIN_US = -62_135_596_800_000_000n;

/**
 * prism.timeseries.v1.TimeSeriesService: validates batches against the namespace's accept window
 * and limits, applies its retention to every read, pages reads with tokens bound to the request,
 * and ends open Tail streams cleanly when the gateway shuts down. Data goes to
 * `binding.timeseries`.
 */
export class TimeSeriesService {
  /** Async writes not yet acknowledged by their backend. */
  private readonly pending = new Set<Promise<void>>();
  private readonly closing = new AbortController();

  constructor(
    private readonly settings: TimeSeriesSettings,
    private readonly maxDeadlineMs: number,
    private readonly logger: Logger,
  ) {}

  async write(request: WriteRequest, ctx: NamespacedContext): Promise<WriteResponse> {
    const { ts, name, settings, maxPayloadBytes } = target(ctx);
    checkSeriesId(request.seriesId, this.settings);
    let events = checkEvents(request.events, this.settings, settings, maxPayloadBytes, Date.now());
    const values = ctx.namespace.values;
    if (values) events = await eventsToStorage(values, request.seriesId, events, valueCall(ctx));
    if (request.async) {
      this.writeLater(ts, name, request.seriesId, events, settings);
      return response(0, 0);
    }
    const { written, duplicates } = await ts.write(name, request.seriesId, events, {
      settings,
      signal: ctx.signal,
    });
    return response(written, duplicates);
  }

  async read(request: ReadRequest, ctx: NamespacedContext): Promise<ReadResponse> {
    const { ts, name, settings } = target(ctx);
    checkSeriesId(request.seriesId, this.settings);
    checkTags(request.tagFilter, "tag_filter", this.settings);
    const now = Date.now();
    const requestedStart = request.start ? toMicros(request.start, "start") : MIN_US;
    const requestedEndUs = request.end ? toMicros(request.end, "end") : undefined;
    if (requestedEndUs !== undefined && requestedStart >= requestedEndUs) {
      throw invalid("start", "must be before end", "INVALID_TIME_RANGE");
    }
    const shape: ReadShape = {
      namespace: name,
      seriesId: request.seriesId,
      startUs: requestedStart,
      requestedEndUs,
      descending: request.order === Order.DESCENDING,
      tagFilter: request.tagFilter,
    };
    const position = request.pageToken ? decodeReadToken(request.pageToken, shape) : undefined;
    const endUs = position?.endUs ?? requestedEndUs ?? BigInt(now) * 1000n;
    const startUs = maxOf(requestedStart, retentionCutoff(settings, now));
    if (startUs >= endUs) return readResponse([], "");
    const page = await ts.read(name, request.seriesId, {
      settings,
      signal: ctx.signal,
      startUs,
      endUs,
      descending: shape.descending,
      tagFilter: request.tagFilter,
      ...readLimits(request.pageSizeBytes, request.pageSizeEvents, this.settings),
      ...(position && { after: position.after }),
    });
    const last = page.events.at(-1);
    const token = page.more && last ? encodeReadToken(shape, { endUs, after: last }) : "";
    const events = page.events.map(toMessage);
    const values = ctx.namespace.values;
    if (values) await eventsFromStorage(values, request.seriesId, events, valueCall(ctx));
    return readResponse(events, token);
  }

  /**
   * Stored events from `start`, then live ones, until the client cancels, its deadline passes
   * (an error status) or the gateway shuts down (a clean end). A slow client holds the backend's
   * tail at its current batch: messages are written only as the stream drains.
   */
  async *tail(request: TailRequest, ctx: NamespacedContext): AsyncIterable<TailResponse> {
    const { ts, name, settings } = target(ctx);
    checkSeriesId(request.seriesId, this.settings);
    checkTags(request.tagFilter, "tag_filter", this.settings);
    const startUs = request.start
      ? maxOf(toMicros(request.start, "start"), retentionCutoff(settings, Date.now()))
      : undefined;
    const signal = AbortSignal.any([ctx.signal, this.closing.signal]);
    const events = ts.tail(name, request.seriesId, {
      settings,
      signal,
      tagFilter: request.tagFilter,
      ...(startUs !== undefined && { startUs }),
    });
    const values = ctx.namespace.values;
    const call = values && valueCall(ctx);
    for await (const batch of events) {
      // Live events older than the start (written late) are not part of a tail from `start`.
      const kept = startUs === undefined ? batch : batch.filter((event) => event.eventTimeUs >= startUs);
      if (kept.length === 0) continue;
      const messages = kept.map(toMessage);
      if (values) await eventsFromStorage(values, request.seriesId, messages, call!);
      yield { $typeName: "prism.timeseries.v1.TailResponse", events: messages };
    }
    if (ctx.signal.aborted) throw abortError(ctx.signal);
  }

  /** Ends open tails cleanly and waits for async writes to reach their backends. */
  async shutdown(): Promise<void> {
    this.closing.abort(new DOMException("gateway shutting down", "AbortError"));
    await Promise.allSettled([...this.pending]);
  }

  /** Hands a validated batch to the backend without waiting; refused when too many are queued. */
  private writeLater(
    ts: TimeSeriesBackend,
    namespace: string,
    seriesId: string,
    events: TsEvent[],
    settings: TsNamespaceSettings,
  ): void {
    if (this.closing.signal.aborted || this.pending.size >= this.settings.maxAsyncWrites) {
      throw new PrismError("ResourceExhausted", "too many async writes are waiting for their backends", {
        reason: "ASYNC_WRITES_FULL",
        metadata: { limit: String(this.settings.maxAsyncWrites) },
      });
    }
    const write = ts
      .write(namespace, seriesId, events, { settings, signal: AbortSignal.timeout(this.maxDeadlineMs) })
      .then(
        () => undefined,
        (error: unknown) => {
          // Never the events or the series id: either may carry personal data.
          const kind = error instanceof PrismError ? error.kind : "Internal";
          this.logger.warn({ namespace, events: events.length, kind }, "async timeseries write failed");
        },
      )
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }
}

function target(ctx: NamespacedContext): {
  ts: TimeSeriesBackend;
  name: string;
  settings: TsNamespaceSettings;
  maxPayloadBytes: number;
} {
  const { binding, spec, maxValueBytes, timeseries } = ctx.namespace;
  return { ts: binding.timeseries, name: spec.name, settings: timeseries!, maxPayloadBytes: maxValueBytes };
}

/** Events before this are expired: reads and tails never ask a backend for them. */
function retentionCutoff(settings: TsNamespaceSettings, nowMs: number): bigint {
  return BigInt(nowMs - settings.retentionMs) * 1000n;
}

function maxOf(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function response(written: number, duplicates: number): WriteResponse {
  return { $typeName: "prism.timeseries.v1.WriteResponse", written, duplicates };
}

function readResponse(events: Event[], nextPageToken: string): ReadResponse {
  return { $typeName: "prism.timeseries.v1.ReadResponse", events, nextPageToken };
}

/** The wire event, built as a literal (see KeyValueService's toMessage). */
function toMessage(event: TsEvent): Event {
  return {
    $typeName: "prism.timeseries.v1.Event",
    eventTime: fromMicros(event.eventTimeUs),
    eventId: event.eventId,
    payload: event.payload,
    tags: event.tags,
  };
}
