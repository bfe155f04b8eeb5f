import type {
  TimeSeriesBackend,
  TsCallOptions,
  TsEvent,
  TsReadOptions,
  TsScanOptions,
  TsScanResult,
  TsTailOptions,
  TsWriteOptions,
} from "@prism/core";
import { diffEvents } from "./diff.js";
import type { ShadowState } from "./shadow-state.js";
import { shadowedRead } from "./shadowed-read.js";

/**
 * TimeSeries under shadow traffic: the primary answers; each acknowledged batch is mirrored in
 * order per series (events are immutable and keyed by identity, so a repeat is harmless); sampled
 * Reads are compared. Tail and Scan stay on the primary; retention applies to both.
 *
 * @example const ts = new ShadowTimeSeries(postgres.timeseries, kafka.timeseries, state)
 */
export class ShadowTimeSeries implements TimeSeriesBackend {
  constructor(
    private readonly primary: TimeSeriesBackend,
    private readonly shadow: TimeSeriesBackend,
    private readonly state: ShadowState,
  ) {}

  get capabilities() {
    return this.primary.capabilities;
  }

  async write(
    namespace: string,
    seriesId: string,
    events: TsEvent[],
    options: TsWriteOptions,
  ): Promise<{ written: number; duplicates: number }> {
    const result = await this.primary.write(namespace, seriesId, events, options);
    let bytes = 0;
    for (const event of events) bytes += event.payload.length + 32;
    this.state.queue.offer(seriesId, bytes, async (signal) => {
      await this.shadow.write(namespace, seriesId, events, { settings: options.settings, signal });
    });
    return result;
  }

  read(
    namespace: string,
    seriesId: string,
    options: TsReadOptions,
  ): Promise<{ events: TsEvent[]; more: boolean }> {
    return shadowedRead(
      this.state,
      seriesId,
      options.signal,
      (signal) => this.primary.read(namespace, seriesId, { ...options, signal }),
      (signal) => this.shadow.read(namespace, seriesId, { ...options, signal }),
      (p, s) => diffEvents(p.events, s.events) ?? (p.more === s.more ? undefined : "paging differs"),
    );
  }

  tail(namespace: string, seriesId: string, options: TsTailOptions): AsyncIterable<TsEvent[]> {
    return this.primary.tail(namespace, seriesId, options);
  }

  async retain(namespace: string, options: TsCallOptions): Promise<{ removed?: number }> {
    const result = await this.primary.retain(namespace, options);
    // The shadow keeps the same window; its failure is the retention loop's to log next pass.
    await this.shadow.retain(namespace, options).catch(() => undefined);
    return result;
  }

  scan(namespace: string, options: TsScanOptions): Promise<TsScanResult> {
    return this.primary.scan(namespace, options);
  }
}
