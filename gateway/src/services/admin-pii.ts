import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PrismError } from "@prism/core";
import {
  AuditEntrySchema,
  AuditOperation,
  type GetReEncryptRequest,
  type GetReEncryptResponse,
  GetReEncryptResponseSchema,
  JobState,
  type QueryAuditRequest,
  type QueryAuditResponse,
  QueryAuditResponseSchema,
  ReEncryptJobSchema,
  type RotateKeyRequest,
  type RotateKeyResponse,
  RotateKeyResponseSchema,
  type StartReEncryptRequest,
  type StartReEncryptResponse,
  StartReEncryptResponseSchema,
  type VerifyAuditResponse,
  VerifyAuditResponseSchema,
} from "@prism/proto/prism/admin/v1/admin";
import type { RequestContext } from "../context.js";
import type { AuditEntry, AuditFilter } from "../pii/audit-store.js";
import type { PiiRuntime } from "../pii/pii-runtime.js";
import type { ReEncryptStatus, Reseal } from "../pii/reencrypt-job.js";
import type { NamespaceRegistry } from "../registry/namespace-registry.js";
import type { ResolvedNamespace } from "../registry/resolved-namespace.js";

/**
 * How a namespace's stored values are moved to its current data key: the value policy's, or
 * undefined when the namespace seals no fields (then StartReEncrypt is refused).
 */
export type ResealerOf = (namespace: ResolvedNamespace) => Reseal | undefined;

const MAX_NAME = 256;
const MAX_PRINCIPAL = 512;
/** Clock skew between gateways allowed for when waiting for a rotation to be seen everywhere. */
const SKEW_MS = 2000;

/**
 * The PII half of prism.admin.v1.AdminService: the audit log (QueryAudit, VerifyAudit) and data
 * keys (RotateKey, StartReEncrypt, GetReEncrypt). The gateway merges these handlers into the
 * AdminService it serves; the admin check runs in the pipeline before any of them.
 *
 * @example services.serve(AdminServiceDesc, Object.assign(admin, new PiiAdmin(registry, pii, resealerOf).handlers()))
 */
export class PiiAdmin {
  constructor(
    private readonly registry: NamespaceRegistry,
    private readonly pii: PiiRuntime,
    private readonly resealerOf: ResealerOf,
  ) {}

  /** The handlers, bound, by the method's local name. */
  handlers() {
    return {
      queryAudit: this.queryAudit.bind(this),
      verifyAudit: this.verifyAudit.bind(this),
      rotateKey: this.rotateKey.bind(this),
      startReEncrypt: this.startReEncrypt.bind(this),
      getReEncrypt: this.getReEncrypt.bind(this),
    };
  }

  async queryAudit(request: QueryAuditRequest): Promise<QueryAuditResponse> {
    const filter: AuditFilter = {
      ...(request.namespace !== "" && { namespace: bounded(request.namespace, "namespace", MAX_NAME) }),
      ...(request.principal !== "" && { principal: bounded(request.principal, "principal", MAX_PRINCIPAL) }),
      ...(request.startTime && { since: epochMs(request.startTime, "start_time") }),
      ...(request.endTime && { until: epochMs(request.endTime, "end_time") }),
    };
    if (filter.since !== undefined && filter.until !== undefined && filter.since > filter.until) {
      throw new PrismError("InvalidArgument", "start_time is after end_time", {
        reason: "INVALID_TIME_RANGE",
        field: "start_time",
      });
    }
    const page = await this.pii.audit.query(filter, request.limit, request.pageToken);
    return create(QueryAuditResponseSchema, {
      entries: page.entries.map(entryMessage),
      nextPageToken: page.nextPageToken,
    });
  }

  async verifyAudit(_request: unknown, ctx: RequestContext): Promise<VerifyAuditResponse> {
    const result = await this.pii.audit.verify(ctx.signal);
    return create(VerifyAuditResponseSchema, {
      ok: result.ok,
      entriesChecked: BigInt(result.checked),
      firstBadSeq: BigInt(result.firstBadSeq),
      problem: result.problem,
    });
  }

  async rotateKey(request: RotateKeyRequest): Promise<RotateKeyResponse> {
    const namespace = this.namespace(request.namespace);
    const { current, previous } = await this.pii.keys.rotate(namespace.spec.name);
    return create(RotateKeyResponseSchema, { keyId: current.id, previousKeyIds: previous });
  }

  async startReEncrypt(request: StartReEncryptRequest): Promise<StartReEncryptResponse> {
    const namespace = this.namespace(request.namespace);
    const name = namespace.spec.name;
    if (namespace.spec.pattern !== "keyvalue") {
      throw new PrismError(
        "FailedPrecondition",
        `namespace ${name} is ${namespace.spec.pattern}: only KeyValue values are rewritten (stored events are immutable)`,
        { reason: "NAMESPACE_NOT_ENCRYPTED", field: "namespace" },
      );
    }
    const reseal = this.resealerOf(namespace);
    if (!reseal) {
      throw new PrismError("FailedPrecondition", `namespace ${name} has no schema with encrypted fields`, {
        reason: "NAMESPACE_NOT_ENCRYPTED",
        field: "namespace",
      });
    }
    const current = await this.pii.keys.current(name);
    const job = this.pii.jobs.start({
      namespace: name,
      kv: namespace.binding.keyvalue,
      keyId: current.id,
      reseal,
      // Gateways that read the previous key keep sealing with it until their cache expires.
      notBefore: current.createdAt + this.pii.keys.currentKeyTtlMs + SKEW_MS,
    });
    return create(StartReEncryptResponseSchema, { job: jobMessage(job) });
  }

  async getReEncrypt(request: GetReEncryptRequest): Promise<GetReEncryptResponse> {
    const job = this.pii.jobs.get(bounded(request.id, "id", 64));
    if (!job) {
      throw new PrismError(
        "NotFound",
        `re-encrypt job ${JSON.stringify(request.id)} is not known to this gateway`,
        {
          field: "id",
        },
      );
    }
    return create(GetReEncryptResponseSchema, { job: jobMessage(job) });
  }

  private namespace(name: string): ResolvedNamespace {
    const namespace = this.registry.get(bounded(name, "namespace", MAX_NAME));
    if (namespace) return namespace;
    throw new PrismError("NotFound", `namespace ${JSON.stringify(name)} does not exist`, {
      reason: "NAMESPACE_NOT_FOUND",
      field: "namespace",
    });
  }
}

function bounded(value: string, field: string, max: number): string {
  if (value.length > 0 && value.length <= max) return value;
  throw new PrismError("InvalidArgument", `${field} must be 1 to ${max} characters`, { field });
}

function epochMs(timestamp: Timestamp, field: string): number {
  const ms = timestampDate(timestamp).getTime();
  if (Number.isFinite(ms)) return ms;
  throw new PrismError("InvalidArgument", `${field} is not a valid time`, { field });
}

function entryMessage(entry: AuditEntry) {
  return create(AuditEntrySchema, {
    seq: BigInt(entry.seq),
    time: timestampFromMs(entry.time),
    principal: entry.principal,
    namespace: entry.namespace,
    id: entry.id,
    fields: [...entry.fields],
    operation: entry.operation === "read" ? AuditOperation.READ : AuditOperation.WRITE,
    hash: entry.hash,
  });
}

const STATES = {
  running: JobState.RUNNING,
  succeeded: JobState.SUCCEEDED,
  failed: JobState.FAILED,
  cancelled: JobState.CANCELLED,
} as const;

function jobMessage(job: ReEncryptStatus) {
  return create(ReEncryptJobSchema, {
    id: job.id,
    namespace: job.namespace,
    state: STATES[job.state],
    keyId: job.keyId,
    recordsDone: BigInt(job.done),
    recordsRewritten: BigInt(job.rewritten),
    recordsPerSecond: job.perSecond,
    error: job.error,
    startTime: timestampFromMs(job.startedAt),
    updateTime: timestampFromMs(job.updatedAt),
  });
}
