import { create } from "@bufbuild/protobuf";
import { PrismError } from "@prism/core";
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  type HealthListResponse,
  HealthListResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@prism/proto/grpc/health/v1/health";
import type { RequestContext } from "../context.js";
import type { Send } from "../grpc/handlers.js";

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

  /** Sends the current status, then every change, until the client goes away. */
  async watch(
    request: HealthCheckRequest,
    ctx: RequestContext,
    send: Send<HealthCheckResponse>,
  ): Promise<void> {
    let last = this.statusOf(request.service);
    await send(create(HealthCheckResponseSchema, { status: last }));
    await new Promise<void>((resolve) => {
      const notify = () => {
        const status = this.statusOf(request.service);
        if (status === last) return;
        last = status;
        send(create(HealthCheckResponseSchema, { status })).catch(() => undefined);
      };
      this.watchers.add(notify);
      ctx.signal.addEventListener("abort", () => {
        this.watchers.delete(notify);
        resolve();
      });
    });
    throw new PrismError("Cancelled", "watch ended");
  }

  private statusOf(service: string): ServingStatus {
    if (service !== "" && !this.services.includes(service)) return ServingStatus.SERVICE_UNKNOWN;
    return this.serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  }
}
