import type { CallOptions, WriteOptions } from "./keyvalue.js";

/**
 * The TimeSeries pattern: immutable events per series; (seriesId, eventTime, eventId) is an
 * event's identity and writing it again is a no-op. Implemented by a later change; declared here
 * so the gateway and backends are designed for it.
 */
export interface TsEvent {
  /** Epoch microseconds. */
  eventTimeUs: bigint;
  eventId: string;
  payload: Uint8Array;
  tags: Record<string, string>;
}

export interface TsReadOptions extends CallOptions {
  /** Inclusive, epoch microseconds. */
  startUs: bigint;
  /** Exclusive, epoch microseconds. */
  endUs: bigint;
  descending: boolean;
  tagFilter: Record<string, string>;
  limitEvents: number;
  limitBytes: number;
  /** Continue after this event (exclusive) in the read order. */
  after?: { eventTimeUs: bigint; eventId: string };
}

export interface TimeSeriesCapabilities {
  /** Tail can follow new events live without polling. */
  liveTail: boolean;
  /** Retention is enforced by the store itself. */
  nativeRetention: boolean;
}

export interface TimeSeriesBackend {
  readonly capabilities: TimeSeriesCapabilities;
  write(
    namespace: string,
    seriesId: string,
    events: TsEvent[],
    options: WriteOptions,
  ): Promise<{ written: number; duplicates: number }>;
  read(
    namespace: string,
    seriesId: string,
    options: TsReadOptions,
  ): Promise<{ events: TsEvent[]; more: boolean }>;
  tail(
    namespace: string,
    seriesId: string,
    options: CallOptions & { startUs?: bigint; tagFilter: Record<string, string> },
  ): AsyncIterable<TsEvent[]>;
}
