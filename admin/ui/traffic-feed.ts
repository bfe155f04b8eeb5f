import { useEffect, useState } from "preact/hooks";
import type { TrafficHistory, TrafficPoint, TrafficTick } from "../src/api-types.js";

/** Points kept per namespace (the server keeps as many). */
export const MAX_POINTS = 300;

export interface NamespaceSeries {
  points: TrafficPoint[];
  /** Points received since the page opened, history included (grows past MAX_POINTS). */
  received: number;
}

export type FeedStatus = "connecting" | "live" | "reconnecting" | "closed";

/**
 * The app's one traffic stream (`/api/traffic/stream`): a `history` event, then a `tick` each
 * second. Components subscribe; nothing here polls.
 */
class TrafficFeed {
  /** Undefined until the first event. */
  available: boolean | undefined;
  status: FeedStatus = "connecting";
  readonly series = new Map<string, NamespaceSeries>();
  /** Requests/s of each namespace in the newest tick; absent = idle. */
  rates: Record<string, number> = {};
  /** Epoch ms of the newest tick (the charts' right edge). */
  now = 0;
  private source: EventSource | undefined;
  private watchingPage = false;
  private readonly listeners = new Set<() => void>();

  start(): void {
    if (this.source) return;
    const source = new EventSource("/api/traffic/stream");
    this.source = source;
    source.addEventListener("history", (event) => this.onHistory(JSON.parse(event.data) as TrafficHistory));
    source.addEventListener("tick", (event) => this.onTick(JSON.parse(event.data) as TrafficTick));
    source.addEventListener("open", () => this.setStatus("live"));
    // EventSource retries by itself; CLOSED means it gave up (e.g. the session ended).
    source.addEventListener("error", () =>
      this.setStatus(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting"),
    );
    if (!this.watchingPage) {
      this.watchingPage = true;
      // Closing before the page goes keeps the browser from reporting an interrupted stream (and
      // lets it keep the page in its back/forward cache, from which it comes back here).
      window.addEventListener("pagehide", () => this.stop());
      window.addEventListener("pageshow", (event) => {
        if (event.persisted) this.start();
      });
    }
  }

  stop(): void {
    this.source?.close();
    this.source = undefined;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private onHistory(history: TrafficHistory): void {
    this.available = history.available;
    this.status = "live";
    // A reconnect sends the history again: it replaces what we had, keeping the counts growing.
    for (const [name, points] of Object.entries(history.namespaces)) {
      const before = this.series.get(name)?.received ?? 0;
      const kept = points.slice(-MAX_POINTS);
      this.series.set(name, { points: kept, received: before + kept.length });
      const last = kept.at(-1);
      if (last) this.now = Math.max(this.now, last.t);
    }
    this.rates = {};
    for (const [name, series] of this.series) {
      const last = series.points.at(-1);
      if (last && last.t >= this.now - 1500) this.rates[name] = last.rps;
    }
    this.notify();
  }

  private onTick(tick: TrafficTick): void {
    this.available = tick.available;
    this.status = "live";
    const rates: Record<string, number> = {};
    let newest = 0;
    for (const [name, point] of Object.entries(tick.points)) {
      const series = this.series.get(name) ?? { points: [], received: 0 };
      series.points.push(point);
      if (series.points.length > MAX_POINTS) series.points.splice(0, series.points.length - MAX_POINTS);
      series.received += 1;
      this.series.set(name, series);
      rates[name] = point.rps;
      newest = Math.max(newest, point.t);
    }
    this.rates = rates;
    this.now = newest || Date.now();
    this.notify();
  }

  private setStatus(status: FeedStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

export const trafficFeed = new TrafficFeed();

/** Re-renders the caller on every feed event; returns the feed. */
export function useTrafficFeed(): TrafficFeed {
  const [, setVersion] = useState(0);
  useEffect(() => trafficFeed.subscribe(() => setVersion((n) => n + 1)), []);
  return trafficFeed;
}
