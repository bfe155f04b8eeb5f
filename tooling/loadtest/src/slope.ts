/** A least-squares line through points. */
export interface LineFit {
  /** Change of y per unit of x (per minute, for the soak's series). */
  readonly slope: number;
  /** y at x = 0. */
  readonly intercept: number;
  /** Points the line was fitted to. */
  readonly points: number;
}

/**
 * The least-squares line through `(xs[i], ys[i])`. Needs two distinct x values; with fewer, the
 * slope is 0 (no trend can be seen) and the intercept the mean.
 *
 * @example fitLine([0, 1, 2], [1, 3, 5]) // { slope: 2, intercept: 1, points: 3 }
 */
export function fitLine(xs: readonly number[], ys: readonly number[]): LineFit {
  const n = Math.min(xs.length, ys.length);
  if (n === 0) return { slope: 0, intercept: 0, points: 0 };
  let sumX = 0;
  let sumY = 0;
  for (let i = 0; i < n; i++) {
    sumX += xs[i]!;
    sumY += ys[i]!;
  }
  const meanX = sumX / n;
  const meanY = sumY / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - meanX) ** 2;
    sxy += (xs[i]! - meanX) * (ys[i]! - meanY);
  }
  if (sxx === 0) return { slope: 0, intercept: meanY, points: n };
  const slope = sxy / sxx;
  return { slope, intercept: meanY - slope * meanX, points: n };
}

/** One series' trend against its bound. */
export interface Trend extends LineFit {
  /** Largest slope allowed (per minute). */
  readonly bound: number;
  /** True when the slope is at most the bound (robust trends: or not clearly above zero). */
  readonly ok: boolean;
  /** Robust trends only: the slope's 95% confidence interval. */
  readonly low?: number;
  readonly high?: number;
}

/** How a trend summarizes each block of samples before fitting (none: every sample counts). */
export interface Blocks {
  /** Block length in minutes, from the end of the warm-up. */
  readonly minutes: number;
  /**
   * `min`: the block's lowest sample — a garbage-collected heap is a sawtooth between
   * collections, and its floor (what survives a collection) is what grows when memory leaks.
   * `median`: the block's median at its middle — one slow interval (a GC pause, a neighbour on a
   * shared machine) moves a latency fit over single samples a lot, a block's median hardly.
   */
  readonly pick: "min" | "median";
}

/**
 * The trend of a series sampled at `minutes`, after discarding the first `warmupShare` of the
 * run (a fresh process grows while it warms up: JIT, caches, pools), judged against `bound`:
 * a least-squares line through every sample, or through one point per block (`blocks`).
 *
 * @example trend([0, 1, 2, 3, 4], [100, 150, 151, 152, 153], 0.2, 2).slope // 1: the jump is warm-up
 */
export function trend(
  minutes: readonly number[],
  values: readonly number[],
  warmupShare: number,
  bound: number,
  blocks?: Blocks,
): Trend {
  const from = (minutes.at(-1) ?? 0) * warmupShare;
  let { xs, ys } = afterWarmup(minutes, values, from);
  if (blocks && blocks.minutes > 0) ({ xs, ys } = blockPoints(xs, ys, from, blocks));
  const fit = fitLine(xs, ys);
  return { ...fit, bound, ok: fit.slope <= bound };
}

/**
 * One point per block `[from + k·width, from + (k+1)·width)`: its lowest sample, or its median
 * at the block's mean x. A short last block joins the one before (one sample near a sawtooth's
 * top would pass for a rise).
 *
 * @example blockPoints([0, 1, 2, 3], [5, 1, 7, 2], 0, { minutes: 2, pick: "min" }) // { xs: [1, 3], ys: [1, 2] }
 */
export function blockPoints(
  xs: readonly number[],
  ys: readonly number[],
  from: number,
  blocks: Blocks,
): { xs: number[]; ys: number[] } {
  const members = new Map<number, { x: number; y: number }[]>();
  const fullBlocks = Math.max(1, Math.round(((xs.at(-1) ?? from) - from) / blocks.minutes));
  xs.forEach((x, i) => {
    const block = Math.min(fullBlocks - 1, Math.floor((x - from) / blocks.minutes));
    const list = members.get(block) ?? [];
    list.push({ x, y: ys[i]! });
    members.set(block, list);
  });
  const points = [...members.values()].map((list) => {
    if (blocks.pick === "min") return list.reduce((low, point) => (point.y < low.y ? point : low));
    const sorted = list.map((point) => point.y).sort((a, b) => a - b);
    const middle = sorted.length / 2;
    const median =
      sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
    return { x: list.reduce((sum, point) => sum + point.x, 0) / list.length, y: median };
  });
  return { xs: points.map((p) => p.x), ys: points.map((p) => p.y) };
}

/**
 * The trend of a noisy series (a latency percentile per interval), after the warm-up share: the
 * Theil–Sen slope (the median of the slopes between every two samples, so spikes and a few slow
 * intervals barely move it) with its 95% confidence interval (Sen, 1968). It fails only when
 * the slope is above `bound` AND the interval lies above zero — a rise the samples show, not one
 * their noise could make (a 5-s p99 on a shared 2-core machine swings between 25 and 200 ms).
 *
 * @example robustTrend(minutes, p99s, 0.2, 2) // { slope: 0.4, low: -1.1, high: 1.9, ok: true, … }
 */
export function robustTrend(
  minutes: readonly number[],
  values: readonly number[],
  warmupShare: number,
  bound: number,
): Trend {
  const { xs, ys } = afterWarmup(minutes, values, (minutes.at(-1) ?? 0) * warmupShare);
  const n = xs.length;
  const slopes: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) if (xs[j]! !== xs[i]!) slopes.push((ys[j]! - ys[i]!) / (xs[j]! - xs[i]!));
  if (slopes.length === 0) return { ...fitLine(xs, ys), bound, ok: true };
  slopes.sort((a, b) => a - b);
  const slope = quantileOfSorted(slopes, 0.5);
  const intercept = quantileOfSorted(
    ys.map((y, i) => y - slope * xs[i]!).sort((a, b) => a - b),
    0.5,
  );
  const spread = 1.96 * Math.sqrt((n * (n - 1) * (2 * n + 5)) / 18);
  const at = (rank: number) => slopes[Math.min(slopes.length - 1, Math.max(0, Math.round(rank)))]!;
  const low = at((slopes.length - spread) / 2);
  const high = at((slopes.length + spread) / 2);
  return { slope, intercept, points: n, bound, ok: slope <= bound || low <= 0, low, high };
}

function quantileOfSorted(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const below = Math.floor(at);
  return sorted[below]! + (sorted[Math.ceil(at)]! - sorted[below]!) * (at - below);
}

/** The samples from minute `from` on that have a finite value. */
function afterWarmup(
  minutes: readonly number[],
  values: readonly number[],
  from: number,
): { xs: number[]; ys: number[] } {
  const xs: number[] = [];
  const ys: number[] = [];
  minutes.forEach((x, i) => {
    const y = values[i];
    if (x >= from && y !== undefined && Number.isFinite(y)) {
      xs.push(x);
      ys.push(y);
    }
  });
  return { xs, ys };
}
