import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PrismError } from "@prism/core";
import {
  type GetTrafficRequest,
  type GetTrafficResponse,
  GetTrafficResponseSchema,
} from "@prism/proto/prism/admin/v1/admin";
import { LATENCY_BUCKETS } from "../telemetry/instruments.js";
import type { RequestMetrics } from "../telemetry/request-metrics.js";

const MAX_NAMESPACES = 1000;

/**
 * AdminService.GetTraffic: this gateway's request counters per namespace, read from the request
 * metrics the pipeline keeps anyway (so it costs the request path nothing). Without metrics there
 * is nothing to read: FAILED_PRECONDITION with METRICS_DISABLED.
 *
 * @example services.serve(AdminServiceDesc, Object.assign(admin, trafficHandlers(metrics?.requests)))
 */
export function trafficHandlers(requests: RequestMetrics | undefined) {
  const startTime = timestampFromMs(Date.now());
  return {
    async getTraffic(request: GetTrafficRequest): Promise<GetTrafficResponse> {
      if (!requests) {
        throw new PrismError("FailedPrecondition", "traffic needs the gateway's metrics (metrics.enabled)", {
          reason: "METRICS_DISABLED",
        });
      }
      if (request.namespaces.length > MAX_NAMESPACES) {
        throw new PrismError("InvalidArgument", `namespaces: at most ${MAX_NAMESPACES}`, {
          field: "namespaces",
        });
      }
      const totals = requests.traffic(new Set(request.namespaces));
      return create(GetTrafficResponseSchema, {
        time: timestampFromMs(Date.now()),
        startTime,
        latencyBoundsSeconds: [...LATENCY_BUCKETS],
        namespaces: totals.map((total) => ({
          namespace: total.namespace,
          requests: BigInt(total.requests),
          errorsByCode: Object.fromEntries(
            Object.entries(total.errorsByCode).map(([code, count]) => [code, BigInt(count)]),
          ),
          latencyBuckets: total.latencyBuckets.map(BigInt),
          latencySumSeconds: total.latencySum,
        })),
      });
    },
  };
}
