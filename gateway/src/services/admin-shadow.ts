import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PrismError } from "@prism/core";
import {
  type BackfillJob,
  BackfillJobSchema,
  BackfillState,
  type CancelBackfillRequest,
  CancelBackfillResponseSchema,
  type GetBackfillRequest,
  GetBackfillResponseSchema,
  type GetShadowStatusRequest,
  GetShadowStatusResponseSchema,
  type PromoteShadowRequest,
  PromoteShadowResponseSchema,
  type RollbackShadowRequest,
  RollbackShadowResponseSchema,
  type SetShadowModeRequest,
  SetShadowModeResponseSchema,
  ShadowCountersSchema,
  type StartBackfillRequest,
  StartBackfillResponseSchema,
  type StartShadowRequest,
  StartShadowResponseSchema,
  type StopShadowRequest,
  StopShadowResponseSchema,
  type VerifyShadowRequest,
  type VerifyShadowResponse,
  VerifyShadowResponseSchema,
} from "@prism/proto/prism/admin/v1/admin";
import type { ConfigStore } from "../config/config-store.js";
import type { ShadowConfigSettings } from "../config/gateway-config.js";
import type { NamespaceSpec } from "../config/namespace-spec.js";
import type { RequestContext } from "../context.js";
import type { NamespaceRegistry } from "../registry/namespace-registry.js";
import type { ResolvedNamespace } from "../registry/resolved-namespace.js";
import type { BackfillRecord, BackfillRunner } from "../shadow/backfill.js";
import { promotionProblems, shadowTotals, VERIFY_KIND } from "../shadow/shadow-checks.js";
import type { PublishedShadowStats } from "../shadow/shadow-runtime.js";
import type { ShadowMismatch } from "../shadow/shadow-state.js";
import { type VerifyProgress, verifyShadow } from "../shadow/verify.js";
import { namespaceToMessage, shadowModeName } from "./namespace-message.js";

const MAX_NAME = 256;

/**
 * The shadow-traffic half of AdminService (DESIGN §7): StartShadow / SetShadowMode / StopShadow
 * change the stored namespace (every gateway picks it up), GetShadowStatus sums every gateway's
 * published counters, StartBackfill / GetBackfill / CancelBackfill drive `BackfillRunner`,
 * VerifyShadow streams a full comparison, PromoteShadow / RollbackShadow swap primary and shadow
 * in one config-store write (a new namespace version: each gateway serves either the old pair or
 * the new, never a mix) after the safety checks of `shadow-checks.ts`.
 *
 * @example services.serve(AdminServiceDesc, Object.assign(admin, new ShadowAdmin(…).handlers()))
 */
export class ShadowAdmin {
  constructor(
    private readonly registry: NamespaceRegistry,
    private readonly store: ConfigStore,
    private readonly backfills: BackfillRunner,
    private readonly settings: ShadowConfigSettings,
  ) {}

  handlers() {
    return {
      startShadow: this.startShadow.bind(this),
      setShadowMode: this.setShadowMode.bind(this),
      stopShadow: this.stopShadow.bind(this),
      getShadowStatus: this.getShadowStatus.bind(this),
      promoteShadow: this.promoteShadow.bind(this),
      rollbackShadow: this.rollbackShadow.bind(this),
      startBackfill: this.startBackfill.bind(this),
      getBackfill: this.getBackfill.bind(this),
      cancelBackfill: this.cancelBackfill.bind(this),
      verifyShadow: this.verifyShadow.bind(this),
    };
  }

  async startShadow(request: StartShadowRequest) {
    const namespace = await this.stored(request.namespace);
    if (namespace.spec.shadow) {
      throw new PrismError("FailedPrecondition", `namespace ${namespace.spec.name} already has a shadow`, {
        reason: "SHADOW_ALREADY_CONFIGURED",
        metadata: { namespace: namespace.spec.name },
      });
    }
    const shadow = request.shadow;
    if (!shadow?.backend) {
      throw new PrismError("InvalidArgument", "shadow.backend is required", { field: "shadow.backend" });
    }
    const applied = await this.applyChange(namespace, {
      shadow: {
        backend: shadow.backend,
        mode: shadowModeName(shadow.mode),
        // 0 (unset) = every read, as in YAML.
        sample_rate: shadow.sampleRate === 0 ? 1 : shadow.sampleRate,
      },
    });
    return create(StartShadowResponseSchema, { namespace: applied });
  }

  async setShadowMode(request: SetShadowModeRequest) {
    const namespace = await this.shadowed(request.namespace);
    const applied = await this.applyChange(namespace, {
      shadow: {
        ...namespace.spec.shadow!,
        mode: shadowModeName(request.mode),
        // 0 keeps the current rate (dual-write compares nothing whatever the rate).
        ...(request.sampleRate > 0 && { sample_rate: request.sampleRate }),
      },
    });
    return create(SetShadowModeResponseSchema, { namespace: applied });
  }

  async stopShadow(request: StopShadowRequest) {
    const namespace = await this.shadowed(request.namespace);
    const { shadow: _, ...rest } = namespace.spec;
    return create(StopShadowResponseSchema, { namespace: await this.applyChange(namespace, rest, true) });
  }

  async getShadowStatus(request: GetShadowStatusRequest) {
    const namespace = await this.shadowed(request.namespace);
    const name = namespace.spec.name;
    const { totals, gateways } = await shadowTotals(this.store, namespace.spec);
    const latest = (await this.backfills.jobsOf(name)).at(-1);
    const verified = await this.store.getState(VERIFY_KIND, name);
    const shadow = namespace.spec.shadow!;
    return create(GetShadowStatusResponseSchema, {
      shadow: {
        backend: shadow.backend,
        mode: namespaceToMessage(namespace).shadow!.mode,
        sampleRate: shadow.sample_rate,
      },
      primaryBackend: namespace.spec.backend,
      namespaceVersion: BigInt(namespace.version),
      writesOk: BigInt(totals.writesOk),
      writesFailed: BigInt(totals.writesFailed),
      writesDropped: BigInt(totals.writesDropped),
      readsMatched: BigInt(totals.readsMatched),
      readsMismatched: BigInt(totals.readsMismatched),
      totals: countersMessage({ ...totals }),
      gateways: gateways.map((stats) => ({
        gateway: stats.gateway,
        namespaceVersion: BigInt(stats.namespaceVersion),
        primaryBackend: stats.primary,
        shadowBackend: stats.shadow,
        counters: countersMessage({ ...stats.counters }),
        updateTime: timestampFromMs(stats.at),
      })),
      recentMismatches: recentOf(gateways).map((m) => ({
        id: m.id,
        summary: m.summary,
        time: timestampFromMs(m.at),
      })),
      ...(latest && { backfill: jobMessage(latest) }),
      ...(verified && { lastVerify: progressMessage(verified.value as VerifyProgress, verified.updatedAt) }),
    });
  }

  async promoteShadow(request: PromoteShadowRequest) {
    return create(PromoteShadowResponseSchema, {
      namespace: await this.swap(request.namespace, request.force, "promote"),
    });
  }

  async rollbackShadow(request: RollbackShadowRequest) {
    return create(RollbackShadowResponseSchema, {
      namespace: await this.swap(request.namespace, request.force, "rollback"),
    });
  }

  async startBackfill(request: StartBackfillRequest) {
    const job = await this.backfills.begin(bounded(request.namespace), {
      recordsPerSecond: request.maxRecordsPerSecond,
      bytesPerSecond: Number(request.maxBytesPerSecond),
      fromScratch: request.fromScratch,
    });
    return create(StartBackfillResponseSchema, { job: jobMessage(job) });
  }

  async getBackfill(request: GetBackfillRequest) {
    return create(GetBackfillResponseSchema, {
      job: jobMessage(await this.backfills.get(bounded(request.id, "id"))),
    });
  }

  async cancelBackfill(request: CancelBackfillRequest) {
    return create(CancelBackfillResponseSchema, {
      job: jobMessage(await this.backfills.cancel(bounded(request.id, "id"))),
    });
  }

  async *verifyShadow(
    request: VerifyShadowRequest,
    ctx: RequestContext,
  ): AsyncIterable<VerifyShadowResponse> {
    const namespace = await this.shadowed(request.namespace);
    const updates: VerifyShadowResponse[] = [];
    let wake: (() => void) | undefined;
    let lastSent = 0;
    const pushed = (progress: VerifyProgress) => {
      // At most four progress messages a second, and always the last.
      if (!progress.done && Date.now() - lastSent < 250) return;
      lastSent = Date.now();
      updates.push(progressMessage(progress, Date.now()));
      wake?.();
    };
    const running = verifyShadow(
      {
        namespace: namespace.spec.name,
        pattern: namespace.spec.pattern,
        primary: namespace.binding.primary,
        shadow: namespace.binding.shadow!,
        settings: namespace.timeseries,
        recordsPerSecond: request.maxRecordsPerSecond || this.settings.backfillRecordsPerSecond * 4,
        signal: ctx.signal,
      },
      pushed,
    ).then(async (result) => {
      await this.store.putState(VERIFY_KIND, namespace.spec.name, { ...result, samples: result.samples });
      return result;
    });
    let finished = false;
    let failure: unknown;
    running.then(
      () => {
        finished = true;
        wake?.();
      },
      (error) => {
        finished = true;
        failure = error;
        wake?.();
      },
    );
    for (;;) {
      while (updates.length > 0) yield updates.shift()!;
      if (finished) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    while (updates.length > 0) yield updates.shift()!;
    if (failure) throw failure;
  }

  /** Promote (or roll back: the same swap): primary ↔ shadow in one stored write, after the checks. */
  private async swap(name: string, force: boolean, action: "promote" | "rollback") {
    const namespace = await this.shadowed(name);
    if (!force) {
      const problems = await promotionProblems(this.store, this.backfills, namespace, this.settings);
      if (problems.length > 0) {
        throw new PrismError(
          "FailedPrecondition",
          `${action} refused: ${problems.join("; ")} (force overrides)`,
          {
            reason: "SHADOW_PROMOTE_UNSAFE",
            metadata: { namespace: namespace.spec.name },
          },
        );
      }
    }
    // In-flight mirrored writes of this gateway reach the old shadow (the new primary) first.
    await this.registry.shadows.get(namespace.spec.name)?.queue.drain(this.settings.timeoutMs);
    const shadow = namespace.spec.shadow!;
    const swapped: NamespaceSpec = {
      ...namespace.spec,
      backend: shadow.backend,
      // The old primary keeps every write (dual-write), ready for a rollback.
      shadow: { backend: namespace.spec.backend, mode: "dual-write", sample_rate: shadow.sample_rate },
    };
    const { namespace: applied } = await this.registry.apply(swapped);
    return namespaceToMessage(applied);
  }

  private async applyChange(namespace: ResolvedNamespace, change: Partial<NamespaceSpec>, replace = false) {
    const spec = replace ? (change as NamespaceSpec) : { ...namespace.spec, ...change };
    const { namespace: applied } = await this.registry.apply(spec);
    return namespaceToMessage(applied);
  }

  /** A namespace applied through AdminService (config-file namespaces cannot change here). */
  private async stored(name: string): Promise<ResolvedNamespace> {
    await this.registry.refresh();
    const namespace = this.registry.get(bounded(name));
    if (!namespace) {
      throw new PrismError("NotFound", `namespace ${JSON.stringify(name.slice(0, 100))} does not exist`, {
        reason: "NAMESPACE_NOT_FOUND",
        field: "namespace",
      });
    }
    return namespace;
  }

  private async shadowed(name: string): Promise<ResolvedNamespace> {
    const namespace = await this.stored(name);
    if (!namespace.spec.shadow) {
      throw new PrismError("FailedPrecondition", `namespace ${namespace.spec.name} has no shadow`, {
        reason: "SHADOW_NOT_CONFIGURED",
        metadata: { namespace: namespace.spec.name },
      });
    }
    return namespace;
  }
}

function bounded(value: string, field = "namespace"): string {
  if (value === "" || value.length > MAX_NAME) {
    throw new PrismError("InvalidArgument", `${field}: required, at most ${MAX_NAME} characters`, { field });
  }
  return value;
}

const STATES: Record<BackfillRecord["state"], BackfillState> = {
  running: BackfillState.RUNNING,
  succeeded: BackfillState.SUCCEEDED,
  failed: BackfillState.FAILED,
  cancelled: BackfillState.CANCELLED,
};

export function jobMessage(job: BackfillRecord): BackfillJob {
  const remaining = Math.max(0, job.recordsTotal - job.recordsCopied - job.recordsSkipped);
  const eta =
    job.state === "running" && job.recordsPerSecond > 0
      ? (remaining / job.recordsPerSecond) * 1000
      : undefined;
  return create(BackfillJobSchema, {
    id: job.id,
    namespace: job.namespace,
    state: STATES[job.state],
    recordsCopied: BigInt(job.recordsCopied),
    bytesCopied: BigInt(job.bytesCopied),
    recordsSkipped: BigInt(job.recordsSkipped),
    recordsTotal: BigInt(job.recordsTotal),
    bytesTotal: BigInt(job.bytesTotal),
    cursor: job.cursor ?? "",
    recordsPerSecond: job.recordsPerSecond,
    bytesPerSecond: job.bytesPerSecond,
    ...(eta !== undefined && { eta: durationFromMs(Math.round(eta)) }),
    phase: job.phase,
    owner: job.owner,
    error: job.error ?? "",
    resumedFrom: job.resumedFrom ?? "",
    pageRetries: BigInt(job.pageRetries ?? 0),
    startTime: timestampFromMs(job.startedAt),
    updateTime: timestampFromMs(job.updatedAt),
  });
}

function progressMessage(progress: VerifyProgress, at: number): VerifyShadowResponse {
  return create(VerifyShadowResponseSchema, {
    examined: BigInt(progress.examined),
    missing: BigInt(progress.missing),
    differing: BigInt(progress.differing),
    extra: BigInt(progress.extra),
    done: progress.done,
    phase: progress.phase,
    samples: progress.samples.map((sample) => ({ id: sample.id, summary: sample.summary })),
    time: timestampFromMs(at),
  });
}

function countersMessage(counters: Partial<Record<string, number>>) {
  return create(ShadowCountersSchema, {
    writesOk: BigInt(counters.writesOk ?? 0),
    writesFailed: BigInt(counters.writesFailed ?? 0),
    writesDropped: BigInt(counters.writesDropped ?? 0),
    readsMatched: BigInt(counters.readsMatched ?? 0),
    readsMismatched: BigInt(counters.readsMismatched ?? 0),
    readsSkipped: BigInt(counters.readsSkipped ?? 0),
    readsServedByShadow: BigInt(counters.readsServedByShadow ?? 0),
    readsFellBack: BigInt(counters.readsFellBack ?? 0),
    queueDepth: BigInt(counters.queueDepth ?? 0),
  });
}

/** The newest mismatches any gateway saw, newest last, at most 20. */
function recentOf(gateways: readonly PublishedShadowStats[]): ShadowMismatch[] {
  return gateways
    .flatMap((stats) => stats.recent ?? [])
    .sort((a, b) => a.at - b.at)
    .slice(-20);
}
