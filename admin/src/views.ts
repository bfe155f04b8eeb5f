import { durationMs, type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type AuditEntry,
  AuditOperation,
  type Backend,
  type BackfillJob,
  BackfillState,
  CircuitState,
  type GetShadowStatusResponse,
  HealthStatus,
  type Namespace,
  NamespaceSource,
  ShadowMode,
} from "@prism/proto/prism/admin/v1/admin";
import { Pattern } from "@prism/proto/prism/options/v1/options";
import type {
  AuditEntryView,
  BackendView,
  BackfillView,
  NamespaceView,
  Pattern as PatternName,
  ShadowModeName,
  ShadowView,
} from "./api-types.js";

const PATTERNS: Record<number, PatternName> = {
  [Pattern.KEYVALUE]: "keyvalue",
  [Pattern.TIMESERIES]: "timeseries",
  [Pattern.GRAPH]: "graph",
};

export const SHADOW_MODE_NAMES: Record<number, ShadowModeName> = {
  [ShadowMode.DUAL_WRITE]: "dual-write",
  [ShadowMode.SHADOW_READ]: "shadow-read",
  [ShadowMode.READ_SHADOW]: "read-shadow",
};

export const SHADOW_MODES: Record<ShadowModeName, ShadowMode> = {
  "dual-write": ShadowMode.DUAL_WRITE,
  "shadow-read": ShadowMode.SHADOW_READ,
  "read-shadow": ShadowMode.READ_SHADOW,
};

const CIRCUITS: Record<number, BackendView["circuit"]> = {
  [CircuitState.CLOSED]: "closed",
  [CircuitState.OPEN]: "open",
  [CircuitState.HALF_OPEN]: "half-open",
};

const BACKFILL_STATES: Record<number, BackfillView["state"]> = {
  [BackfillState.RUNNING]: "running",
  [BackfillState.SUCCEEDED]: "succeeded",
  [BackfillState.FAILED]: "failed",
  [BackfillState.CANCELLED]: "cancelled",
};

const iso = (time: Timestamp | undefined) => (time ? timestampDate(time).toISOString() : undefined);

/** A duration in ms as the YAML spec writes it (`30d`, `12h`, …): the largest unit that divides it. */
function durationText(ms: number): string {
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** An AdminService Namespace for the UI; `requestRate` comes from the traffic feed. */
export function namespaceView(message: Namespace, requestRate: number): NamespaceView {
  const limits: NamespaceView["limits"] = {};
  if (message.limits?.maxValueBytes) limits.maxValueBytes = Number(message.limits.maxValueBytes);
  if (message.limits?.rps) limits.rps = message.limits.rps;
  const updateTime = iso(message.updateTime);
  return {
    name: message.name,
    pattern: PATTERNS[message.pattern] ?? "keyvalue",
    backend: message.backend,
    ...(message.schema && { schema: message.schema }),
    ...(message.shadow && {
      shadow: {
        backend: message.shadow.backend,
        mode: SHADOW_MODE_NAMES[message.shadow.mode] ?? "dual-write",
        sampleRate: message.shadow.sampleRate,
      },
    }),
    access: {
      read: message.access?.read ?? [],
      write: message.access?.write ?? [],
      pii: message.access?.pii ?? [],
    },
    limits,
    ...(message.retention && { retention: durationText(Number(durationMs(message.retention))) }),
    version: Number(message.version),
    ...(updateTime && { updateTime }),
    source: message.source === NamespaceSource.CONFIG ? "config" : "store",
    requestRate,
  };
}

export function backendView(message: Backend): BackendView {
  return {
    name: message.name,
    type: message.type,
    health:
      message.health === HealthStatus.SERVING
        ? "serving"
        : message.health === HealthStatus.NOT_SERVING
          ? "not-serving"
          : "unknown",
    healthMessage: message.healthMessage,
    latencyMs: message.healthLatency ? Number(durationMs(message.healthLatency)) : 0,
    patterns: message.patterns.map((p) => PATTERNS[p]).filter((p) => p !== undefined),
    capabilities: message.capabilities,
    ...(CIRCUITS[message.circuit] && { circuit: CIRCUITS[message.circuit] }),
  };
}

export function backfillView(job: BackfillJob): BackfillView {
  const startTime = iso(job.startTime);
  const ended = job.state !== BackfillState.RUNNING && job.state !== BackfillState.UNSPECIFIED;
  const endTime = ended ? iso(job.updateTime) : undefined;
  return {
    id: job.id,
    namespace: job.namespace,
    state: BACKFILL_STATES[job.state] ?? "pending",
    phase: job.phase,
    done: Number(job.recordsCopied),
    total: Number(job.recordsTotal),
    bytes: Number(job.bytesCopied),
    ratePerSecond: job.recordsPerSecond,
    ...(job.eta && { etaSeconds: Number(durationMs(job.eta)) / 1000 }),
    ...(job.error && { error: job.error }),
    ...(startTime && { startTime }),
    ...(endTime && { endTime }),
  };
}

export function shadowView(namespace: Namespace, status: GetShadowStatusResponse | undefined): ShadowView {
  if (!status) {
    return {
      namespace: namespace.name,
      pattern: PATTERNS[namespace.pattern] ?? "keyvalue",
      primary: namespace.backend,
      generation: Number(namespace.version),
      writes: { ok: 0, failed: 0, dropped: 0 },
      queueDepth: 0,
      reads: { match: 0, mismatch: 0, failed: 0 },
      mismatches: [],
      gateways: 0,
    };
  }
  const totals = status.totals;
  const matched = Number(totals?.readsMatched ?? status.readsMatched);
  const mismatched = Number(totals?.readsMismatched ?? status.readsMismatched);
  return {
    namespace: namespace.name,
    pattern: PATTERNS[namespace.pattern] ?? "keyvalue",
    primary: status.primaryBackend,
    ...(status.shadow && {
      shadow: {
        backend: status.shadow.backend,
        mode: SHADOW_MODE_NAMES[status.shadow.mode] ?? "dual-write",
        sampleRate: status.shadow.sampleRate,
      },
    }),
    generation: Number(status.namespaceVersion),
    writes: {
      ok: Number(totals?.writesOk ?? status.writesOk),
      failed: Number(totals?.writesFailed ?? status.writesFailed),
      dropped: Number(totals?.writesDropped ?? status.writesDropped),
    },
    queueDepth: Number(totals?.queueDepth ?? 0),
    reads: { match: matched, mismatch: mismatched, failed: Number(totals?.readsSkipped ?? 0) },
    ...(matched + mismatched > 0 && { matchRate: matched / (matched + mismatched) }),
    mismatches: status.recentMismatches.map((m) => ({
      id: m.id,
      summary: m.summary,
      time: iso(m.time) ?? "",
    })),
    gateways: status.gateways.length,
    ...(status.backfill && { backfill: backfillView(status.backfill) }),
  };
}

export function auditEntryView(entry: AuditEntry): AuditEntryView {
  return {
    sequence: Number(entry.seq),
    time: iso(entry.time) ?? "",
    principal: entry.principal,
    namespace: entry.namespace,
    action: entry.operation === AuditOperation.WRITE ? "write" : "read",
    recordId: entry.id,
    fields: entry.fields,
  };
}
