import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { ConfigStore } from "../config/config-store.js";
import type { ShadowConfigSettings } from "../config/gateway-config.js";
import type { NamespaceSpec } from "../config/namespace-spec.js";
import type { Logger } from "../log.js";
import { type ShadowCounters, type ShadowMismatch, ShadowState } from "./shadow-state.js";

/** The config-store state kind holding each gateway's counters per namespace. */
export const STATS_KIND = "shadow-stats";

/** Counters unpublished this long are deleted (GetShadowStatus ignores them after a minute). */
const STATS_KEPT_MS = 10 * 60_000;
const STATS_SWEEP_MS = 60_000;

/** What one gateway publishes for one namespace (JSON in the config store). */
export interface PublishedShadowStats {
  gateway: string;
  namespace: string;
  namespaceVersion: number;
  primary: string;
  shadow: string;
  counters: ShadowCounters & { queueDepth: number };
  /** This gateway's most recent read mismatches (ids and summaries, never values). */
  recent: ShadowMismatch[];
  /** Epoch ms. */
  at: number;
}

/**
 * The shadow traffic of one gateway: a `ShadowState` per namespace with a shadow, kept across
 * registry reloads while its primary and shadow stay the same, and published to the config store
 * every `statsIntervalMs` so any gateway can answer GetShadowStatus for all of them. A state whose
 * namespace stopped shadowing (or was promoted: the pair swapped) keeps draining in the
 * background, so writes acknowledged before the change still reach their shadow.
 *
 * @example const state = runtime.stateFor(spec, version)
 */
export class ShadowRuntime {
  /** This gateway's name in published counters. */
  readonly gatewayId = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  private readonly states = new Map<string, { state: ShadowState; version: number }>();
  private readonly retiring = new Set<ShadowState>();
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<void> | undefined;
  private sweptAt = 0;

  constructor(
    private readonly settings: ShadowConfigSettings,
    private readonly store: ConfigStore,
    private readonly logger: Logger,
  ) {}

  /** Starts publishing counters. */
  start(): void {
    this.timer = setInterval(() => void this.publish(), this.settings.statsIntervalMs);
    this.timer.unref();
  }

  /**
   * The state of `spec`'s shadow traffic (which must have a shadow) at namespace `version`:
   * the existing one when the primary/shadow pair is unchanged (mode and sample rate follow the
   * spec), else a new one, the old one draining.
   */
  stateFor(spec: NamespaceSpec, version: number): ShadowState {
    const shadow = spec.shadow!;
    const existing = this.states.get(spec.name);
    if (existing && existing.state.primary === spec.backend && existing.state.shadow === shadow.backend) {
      existing.state.mode = shadow.mode;
      existing.state.sampleRate = shadow.sample_rate;
      existing.version = version;
      return existing.state;
    }
    if (existing) this.retire(existing.state);
    const state = new ShadowState(
      spec.name,
      spec.backend,
      shadow.backend,
      shadow.mode,
      shadow.sample_rate,
      {
        maxTasks: this.settings.queueMaxTasks,
        maxBytes: this.settings.queueMaxBytes,
        concurrency: this.settings.concurrency,
        timeoutMs: this.settings.timeoutMs,
        maxComparisons: this.settings.maxComparisons,
      },
      this.logger,
    );
    this.states.set(spec.name, { state, version });
    return state;
  }

  /** After a reload: states of namespaces no longer shadowed stop taking writes and drain. */
  retain(shadowed: ReadonlySet<string>): void {
    for (const [name, { state }] of this.states) {
      if (shadowed.has(name)) continue;
      this.states.delete(name);
      this.retire(state);
    }
  }

  /** This gateway's current state of `namespace`, if it shadows it. */
  get(namespace: string): ShadowState | undefined {
    return this.states.get(namespace)?.state;
  }

  /** Waits up to `timeoutMs` for every queue to drain, publishes once more, and stops. */
  async stop(timeoutMs: number): Promise<void> {
    clearInterval(this.timer);
    const all = [...[...this.states.values()].map(({ state }) => state), ...this.retiring];
    for (const state of all) state.queue.close();
    const drained = await Promise.all(all.map((state) => state.queue.drain(timeoutMs)));
    const left = all.reduce((sum, state, i) => sum + (drained[i] ? 0 : state.queue.depth), 0);
    if (left > 0)
      this.logger.warn({ writes: left }, "shadow writes still queued at shutdown were not mirrored");
    await this.publish();
  }

  /** Writes this gateway's counters of every shadowed namespace to the config store. */
  publish(): Promise<void> {
    this.publishing ??= this.publishAll().finally(() => {
      this.publishing = undefined;
    });
    return this.publishing;
  }

  private async publishAll(): Promise<void> {
    if (Date.now() - this.sweptAt > STATS_SWEEP_MS) {
      this.sweptAt = Date.now();
      await this.sweepStale();
    }
    for (const [name, { state, version }] of this.states) {
      const stats: PublishedShadowStats = {
        gateway: this.gatewayId,
        namespace: name,
        namespaceVersion: version,
        primary: state.primary,
        shadow: state.shadow,
        counters: { ...state.counters, queueDepth: state.queue.depth + this.retiringDepth(name) },
        recent: [...state.recent],
        at: Date.now(),
      };
      try {
        await this.store.putState(STATS_KIND, `${name}/${this.gatewayId}`, stats);
      } catch (error) {
        this.logger.warn(
          { namespace: name, err: (error as Error).message },
          "publishing shadow counters failed",
        );
        return;
      }
    }
  }

  /** Writes still draining to a namespace's previous pair (after a promotion or rollback). */
  private retiringDepth(namespace: string): number {
    let depth = 0;
    for (const state of this.retiring) if (state.namespace === namespace) depth += state.queue.depth;
    return depth;
  }

  /** Deletes counters no gateway has published for a while (stopped gateways, old namespaces). */
  private async sweepStale(): Promise<void> {
    try {
      for (const stored of await this.store.listState(STATS_KIND)) {
        if (Date.now() - (stored.value as PublishedShadowStats).at > STATS_KEPT_MS)
          await this.store.deleteState(STATS_KIND, stored.key);
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, "sweeping old shadow counters failed");
    }
  }

  /**
   * The namespace moved on (promoted, rolled back, stopped). The queue stays open: a write that
   * resolved the old binding before the reload still offers its mirror here after it, and closing
   * would drop that acknowledged write's copy.
   */
  private retire(state: ShadowState): void {
    this.retiring.add(state);
    void state.queue.drain(this.settings.timeoutMs * 4).then(() => this.retiring.delete(state));
  }
}
