import { status as GrpcCode } from "@grpc/grpc-js";
import { isPrismError } from "@prism/core";
import type { Registry } from "prom-client";
import { GRPC_CODE_OF_KIND } from "../grpc/status.js";
import { collected, LatencyHistogram, type Sample } from "./instruments.js";

/** gRPC code → its name (`NOT_FOUND`), the `code` label. */
const CODE_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [name, code] of Object.entries(GrpcCode)) if (typeof code === "number") names[code] = name;
  return names;
})();
const CODES = CODE_NAMES.length;

/** The counters of one namespace × method; created on its first call, then only incremented. */
class CallSeries {
  /** Calls by gRPC code. */
  readonly byCode = new Float64Array(CODES);
  readonly latency = new LatencyHistogram();
  /** Failed calls by reason, then gRPC code (a reason travels with one kind, but count what came). */
  readonly errors = new Map<string, Float64Array>();
}

/** One namespace's calls since the gateway started, every method summed. */
export interface NamespaceTotals {
  namespace: string;
  requests: number;
  /** Failed calls by gRPC code name. */
  errorsByCode: Record<string, number>;
  /** Calls per latency bucket (`LATENCY_BUCKETS`, then +Inf), not cumulative. */
  latencyBuckets: number[];
  latencySum: number;
}

/** How a method's calls are recorded: obtained once per method when the pipeline is composed. */
export interface MethodCalls {
  /**
   * Counts one call that ended after `seconds`; `error` undefined means OK. `namespace` must be
   * a resolved namespace's name or "" — never a name taken from the request.
   */
  record(namespace: string, error: unknown, seconds: number): void;
}

/**
 * Request metrics of the one pipeline (`telemetry()` in `pipeline/interceptors.ts` records every
 * call at its end): `prism_requests_total{namespace,method,code}`,
 * `prism_request_duration_seconds{namespace,method}`,
 * `prism_request_errors_total{namespace,method,code,reason}` and
 * `prism_rate_limited_total{namespace}`. Label values are bounded: methods are the served ones,
 * namespaces those the registry resolved ("" before or without one), codes and reasons the
 * fixed tables. A call costs a Map look-up by namespace name and a few increments.
 *
 * @example const calls = metrics.method(info); … calls.record(ctx.namespace?.spec.name ?? "", error, seconds);
 */
export class RequestMetrics {
  private readonly methods = new Map<string, Map<string, CallSeries>>();
  private readonly rateLimited = new Map<string, number>();

  constructor(registry: Registry) {
    collected(
      registry,
      {
        name: "prism_requests_total",
        help: "Calls answered, by namespace, method and gRPC code.",
        type: "counter",
      },
      () =>
        this.samples((labels, series, out) => {
          for (let code = 0; code < CODES; code++) {
            const value = series.byCode[code]!;
            if (value > 0) out.push({ labels: { ...labels, code: CODE_NAMES[code]! }, value });
          }
        }),
    );
    collected(
      registry,
      {
        name: "prism_request_duration_seconds",
        help: "Call latency in the gateway, from the first pipeline step to the answer (streams: to their end).",
        type: "histogram",
      },
      () =>
        this.samples((labels, series, out) =>
          out.push(...series.latency.samples("prism_request_duration_seconds", labels)),
        ),
    );
    collected(
      registry,
      {
        name: "prism_request_errors_total",
        help: "Failed calls, by namespace, method, gRPC code and Prism reason (google.rpc.ErrorInfo).",
        type: "counter",
      },
      () =>
        this.samples((labels, series, out) => {
          for (const [reason, byCode] of series.errors) {
            for (let code = 0; code < CODES; code++) {
              const value = byCode[code]!;
              if (value > 0) out.push({ labels: { ...labels, code: CODE_NAMES[code]!, reason }, value });
            }
          }
        }),
    );
    collected(
      registry,
      {
        name: "prism_rate_limited_total",
        help: "Calls refused by a namespace's rate limit.",
        type: "counter",
      },
      () => [...this.rateLimited].map(([namespace, value]) => ({ labels: { namespace }, value })),
    );
  }

  /** The recorder of one method (`prism.keyvalue.v1.KeyValueService/Get` is labelled `KeyValueService/Get`). */
  method(info: { service: { name: string }; method: { name: string } }): MethodCalls {
    const method = `${info.service.name}/${info.method.name}`;
    let byNamespace = this.methods.get(method);
    if (!byNamespace) {
      byNamespace = new Map();
      this.methods.set(method, byNamespace);
    }
    const series = byNamespace;
    return {
      record: (namespace, error, seconds) => {
        let calls = series.get(namespace);
        if (calls === undefined) {
          calls = new CallSeries();
          series.set(namespace, calls);
        }
        calls.latency.observe(seconds);
        if (error === undefined) {
          calls.byCode[GrpcCode.OK]!++;
          return;
        }
        this.recordError(namespace, calls, error);
      },
    };
  }

  private recordError(namespace: string, calls: CallSeries, error: unknown): void {
    const prismError = isPrismError(error) ? error : undefined;
    const code = prismError ? GRPC_CODE_OF_KIND[prismError.kind] : GrpcCode.INTERNAL;
    const reason: string = prismError?.reason ?? "INTERNAL";
    calls.byCode[code]!++;
    let byCode = calls.errors.get(reason);
    if (byCode === undefined) {
      byCode = new Float64Array(CODES);
      calls.errors.set(reason, byCode);
    }
    byCode[code]!++;
    if (reason === "RATE_LIMITED")
      this.rateLimited.set(namespace, (this.rateLimited.get(namespace) ?? 0) + 1);
  }

  /**
   * Calls so far per namespace, every method summed (GetTraffic: the admin UI's charts take
   * differences between two answers). `only` limits the namespaces; empty = all with calls.
   */
  traffic(only: ReadonlySet<string>): NamespaceTotals[] {
    const totals = new Map<string, NamespaceTotals>();
    for (const byNamespace of this.methods.values()) {
      for (const [namespace, series] of byNamespace) {
        if (only.size > 0 && !only.has(namespace)) continue;
        let total = totals.get(namespace);
        if (total === undefined) {
          total = {
            namespace,
            requests: 0,
            errorsByCode: {},
            latencyBuckets: new Array<number>(series.latency.counts.length).fill(0),
            latencySum: 0,
          };
          totals.set(namespace, total);
        }
        for (let code = 0; code < CODES; code++) {
          const calls = series.byCode[code]!;
          total.requests += calls;
          if (code !== GrpcCode.OK && calls > 0)
            total.errorsByCode[CODE_NAMES[code]!] = (total.errorsByCode[CODE_NAMES[code]!] ?? 0) + calls;
        }
        series.latency.counts.forEach((count, i) => {
          total.latencyBuckets[i]! += count;
        });
        total.latencySum += series.latency.sum;
      }
    }
    return [...totals.values()].sort((a, b) => a.namespace.localeCompare(b.namespace));
  }

  private samples(
    each: (labels: Record<string, string>, series: CallSeries, out: Sample[]) => void,
  ): Sample[] {
    const out: Sample[] = [];
    for (const [method, byNamespace] of this.methods) {
      for (const [namespace, series] of byNamespace) each({ namespace, method }, series, out);
    }
    return out;
  }
}
