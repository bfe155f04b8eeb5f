import { type Attributes, type Span, SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { type CallOptions, isPrismError } from "@prism/core";
import type { BackendCall, BackendCallHooks } from "./instrumented.js";
import type { SampledCalls } from "./trace-calls.js";

/**
 * `db.system.name` of each backend type (OTel database conventions): the registered value where
 * there is one, otherwise one of our own (none of the listed values fits, and `other_sql` is only
 * for SQL stores). Unknown types (test drivers) report their type.
 */
export const DB_SYSTEM_OF_TYPE: Readonly<Record<string, string>> = Object.freeze({
  postgres: "postgresql",
  sqlite: "sqlite",
  memory: "prism.memory",
  nats: "nats",
  kafka: "kafka",
  neptune: "gremlin",
});

/**
 * Spans for backend calls, as `instrumented()` hooks: each backend call made with the signal of
 * a sampled gRPC call (see `trace-calls.ts`) becomes a client span, child of its server span, named
 * `<operation> <namespace>`, with `db.system.name` (and the older `db.system`),
 * `db.operation.name` (and `db.operation`: the backend method, e.g. `get`, `write`,
 * `neighbors`), `db.namespace` (the Prism namespace), `prism.backend`, `prism.pattern`; on
 * failure `error.type` (the error kind), `prism.error.reason` and status ERROR. Never ids, keys,
 * values or statements. Other calls (unsampled ones, sweeps, retention, async writes) get no span.
 *
 * @example layerBackends(backends, config, logger, (backend) => instrumented(backend, new BackendSpans(tracer, calls)))
 */
export class BackendSpans implements BackendCallHooks<Span | undefined> {
  private readonly attributes = new Map<BackendCall, Attributes>();

  constructor(
    private readonly tracer: Tracer,
    private readonly calls: SampledCalls,
  ) {}

  onStart(call: BackendCall, namespace: string, options: CallOptions | undefined): Span | undefined {
    const parent = this.calls.contextOf(options?.signal);
    if (parent === undefined) return undefined;
    const attributes = { ...this.attributesOf(call), "db.namespace": namespace };
    return this.tracer.startSpan(
      `${call.operation} ${namespace}`,
      { kind: SpanKind.CLIENT, attributes },
      parent,
    );
  }

  onEnd(_call: BackendCall, span: Span | undefined, error: unknown): void {
    if (span === undefined) return;
    if (error !== undefined) {
      const prismError = isPrismError(error) ? error : undefined;
      const kind = prismError?.kind ?? "Internal";
      span.setAttributes({ "error.type": kind, "prism.error.reason": prismError?.reason ?? "INTERNAL" });
      span.setStatus({ code: SpanStatusCode.ERROR, message: kind });
    }
    span.end();
  }

  private attributesOf(call: BackendCall): Attributes {
    let attributes = this.attributes.get(call);
    if (attributes === undefined) {
      const system = DB_SYSTEM_OF_TYPE[call.type] ?? call.type;
      attributes = {
        "db.system.name": system,
        "db.system": system,
        "db.operation.name": call.operation,
        "db.operation": call.operation,
        "prism.backend": call.backend,
        "prism.pattern": call.pattern,
      };
      this.attributes.set(call, attributes);
    }
    return attributes;
  }
}
