import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { GetTrafficResponse, NamespaceTraffic } from "@prism/proto/prism/admin/v1/admin";
import type { TrafficHistory, TrafficPoint, TrafficTick } from "./api-types.js";

/** Points kept per namespace: five minutes at one a second. */
export const HISTORY_POINTS = 300;
const POLL_MS = 1000;

/** A subscriber to the feed: one browser's event stream. */
export type TrafficListener = (tick: TrafficTick) => void;

interface Totals {
  time: number;
  requests: number;
  errors: Record<string, number>;
  buckets: number[];
}

/**
 * Polls GetTraffic once a second — whatever the number of browsers watching, and only while at
 * least one is (an unwatched UI costs the gateway nothing) — and turns two answers into one point
 * per namespace: requests/s, p50/p99 from the histogram's difference, errors/s by code. Keeps the
 * last {@link HISTORY_POINTS} points for browsers that connect later.
 *
 * @example const off = feed.subscribe((tick) => send("tick", tick)); … off();
 */
export class TrafficFeed {
  private readonly listeners = new Set<TrafficListener>();
  private readonly history = new Map<string, TrafficPoint[]>();
  private previous = new Map<string, Totals>();
  private available = true;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly fetchTraffic: () => Promise<GetTrafficResponse>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The history so far; the caller then receives a tick a second until it unsubscribes. */
  subscribe(listener: TrafficListener): { history: TrafficHistory; unsubscribe: () => void } {
    this.listeners.add(listener);
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), POLL_MS);
      void this.poll();
    }
    return {
      history: this.snapshot(),
      unsubscribe: () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0) this.stop();
      },
    };
  }

  /** Requests/s of each namespace at the newest point (0 when unknown). */
  rates(): Map<string, number> {
    const rates = new Map<string, number>();
    for (const [namespace, points] of this.history) rates.set(namespace, points.at(-1)?.rps ?? 0);
    return rates;
  }

  snapshot(): TrafficHistory {
    return { available: this.available, namespaces: Object.fromEntries(this.history) };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    // A later subscriber starts from a fresh baseline, not from a gap of unknown length.
    this.previous = new Map();
  }

  /** One poll; a slow gateway is not asked again before it answered. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const answer = await this.fetchTraffic();
      this.available = true;
      this.publish(this.advance(answer));
    } catch (error) {
      if ((error as { code?: number }).code === 9 /* FAILED_PRECONDITION: metrics off */) {
        this.available = false;
        this.publish({});
      } else {
        this.onError(error);
      }
    } finally {
      this.polling = false;
    }
  }

  private publish(points: Record<string, TrafficPoint>): void {
    const tick: TrafficTick = { available: this.available, points };
    for (const listener of this.listeners) listener(tick);
  }

  /** Points for the interval since the previous answer; the first answer only sets the baseline. */
  private advance(answer: GetTrafficResponse): Record<string, TrafficPoint> {
    const time = answer.time ? timestampMs(answer.time) : Date.now();
    const bounds = answer.latencyBoundsSeconds;
    const next = new Map<string, Totals>();
    const points: Record<string, TrafficPoint> = {};
    for (const traffic of answer.namespaces) {
      // Calls outside any namespace (admin, health, this feed's own polls) are no namespace's traffic.
      if (traffic.namespace === "") continue;
      const totals = totalsOf(traffic, time);
      next.set(traffic.namespace, totals);
      const before = this.previous.get(traffic.namespace);
      if (!before || time <= before.time) continue;
      const point = pointBetween(before, totals, bounds);
      points[traffic.namespace] = point;
      const series = this.history.get(traffic.namespace) ?? [];
      series.push(point);
      if (series.length > HISTORY_POINTS) series.splice(0, series.length - HISTORY_POINTS);
      this.history.set(traffic.namespace, series);
    }
    this.previous = next;
    return points;
  }
}

function totalsOf(traffic: NamespaceTraffic, time: number): Totals {
  return {
    time,
    requests: Number(traffic.requests),
    errors: Object.fromEntries(Object.entries(traffic.errorsByCode).map(([code, n]) => [code, Number(n)])),
    buckets: traffic.latencyBuckets.map(Number),
  };
}

function pointBetween(before: Totals, after: Totals, bounds: readonly number[]): TrafficPoint {
  const seconds = (after.time - before.time) / 1000;
  const errors: Record<string, number> = {};
  for (const [code, count] of Object.entries(after.errors)) {
    const delta = count - (before.errors[code] ?? 0);
    if (delta > 0) errors[code] = delta / seconds;
  }
  const buckets = after.buckets.map((count, i) => count - (before.buckets[i] ?? 0));
  return {
    t: after.time,
    rps: Math.max(0, after.requests - before.requests) / seconds,
    p50Ms: quantileMs(buckets, bounds, 0.5),
    p99Ms: quantileMs(buckets, bounds, 0.99),
    errors,
  };
}

/**
 * The `q` quantile of an interval's calls from bucket counts, interpolated linearly inside the
 * bucket it falls in (Prometheus' histogram_quantile does the same); 0 without calls. Calls above
 * the last bound count as the last bound.
 */
export function quantileMs(buckets: readonly number[], bounds: readonly number[], q: number): number {
  const total = buckets.reduce((sum, n) => sum + n, 0);
  if (total <= 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i]!;
    if (seen + count >= rank && count > 0) {
      if (i >= bounds.length) return bounds.at(-1)! * 1000;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      return (lower + ((upper - lower) * (rank - seen)) / count) * 1000;
    }
    seen += count;
  }
  return (bounds.at(-1) ?? 0) * 1000;
}
