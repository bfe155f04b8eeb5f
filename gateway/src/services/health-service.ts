import { create } from "@bufbuild/protobuf";
import { abortError } from "@prism/core";
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  type HealthListResponse,
  HealthListResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@prism/proto/grpc/health/v1/health";
import type { RequestContext } from "../context.js";

/**
 * grpc.health.v1.Health. "" (the whole server) and each served service report SERVING until
 * shutdown begins, then NOT_SERVING, so load balancers drain the instance first.
 */
export class HealthService {
  private serving = true;
  private readonly watchers = new Set<() => void>();

  constructor(private readonly services: readonly string[]) {}

  /** Marks every service NOT_SERVING and tells watchers. */
  shutdown(): void {
    this.serving = false;
    for (const notify of this.watchers) notify();
  }

  async check(request: HealthCheckRequest): Promise<HealthCheckResponse> {
    return create(HealthCheckResponseSchema, { status: this.statusOf(request.service) });
  }

  async list(): Promise<HealthListResponse> {
    const statuses: Record<string, HealthCheckResponse> = {};
    for (const service of ["", ...this.services]) {
      statuses[service] = create(HealthCheckResponseSchema, { status: this.statusOf(service) });
    }
    return create(HealthListResponseSchema, { statuses });
  }

  /** Sends the current status, then every change, until the client goes away or the deadline. */
  async *watch(request: HealthCheckRequest, ctx: RequestContext): AsyncIterable<HealthCheckResponse> {
    let last = this.statusOf(request.service);
    yield create(HealthCheckResponseSchema, { status: last });
    let wake: (() => void) | undefined;
    let changed = false;
    const notify = () => {
      changed = true;
      wake?.();
    };
    this.watchers.add(notify);
    ctx.signal.addEventListener("abort", notify, { once: true });
    try {
      for (;;) {
        if (!changed) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        changed = false;
        if (ctx.signal.aborted) throw abortError(ctx.signal);
        const status = this.statusOf(request.service);
        if (status === last) continue;
        last = status;
        yield create(HealthCheckResponseSchema, { status });
      }
    } finally {
      this.watchers.delete(notify);
      ctx.signal.removeEventListener("abort", notify);
    }
  }

  private statusOf(service: string): ServingStatus {
    if (service !== "" && !this.services.includes(service)) return ServingStatus.SERVICE_UNKNOWN;
    return this.serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  }
}
