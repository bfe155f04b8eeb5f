import { setMaxListeners } from "node:events";
import { status as GrpcCode, type Metadata } from "@grpc/grpc-js";
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { isPrismError } from "@prism/core";
import type { RequestContext } from "../context.js";
import { GRPC_CODE_OF_KIND } from "../grpc/status.js";
import type { Interceptor } from "../pipeline/pipeline.js";

const TRACEPARENT = "traceparent";

const propagator = new W3CTraceContextPropagator();

/** W3C `traceparent` / `tracestate` read from the call's gRPC metadata (text keys only). */
export const metadataGetter: TextMapGetter<Metadata> = {
  get(carrier, key) {
    const values = carrier.get(key);
    if (values.length === 0) return undefined;
    return values.length === 1 ? String(values[0]) : values.map(String);
  },
  keys: (carrier) => Object.keys(carrier.getMap()),
};

const CODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(GrpcCode)
    .filter(([, code]) => typeof code === "number")
    .map(([name, code]) => [code, name]),
);

/**
 * The sampled calls in flight, found by what reaches their backend calls: the call's own abort
 * signal. Every backend call takes `{ signal }` from the call's context (a rule of the repo), so
 * the signal carries the trace from the pipeline to the backend layer without an async context —
 * on Node 20 an AsyncLocalStorage makes every promise of the process pay an async hook, which at
 * 1% sampling cost the unsampled 99% about a quarter of the gateway's throughput.
 */
export class SampledCalls {
  private readonly contexts = new WeakMap<RequestContext, Context>();
  private readonly signals = new WeakMap<AbortSignal, Context>();

  /** The trace context (holding the server span) of the sampled call whose signal this is. */
  contextOf(signal: AbortSignal | undefined): Context | undefined {
    return signal === undefined ? undefined : this.signals.get(signal);
  }

  /**
   * Step 1 of the pipeline (composed first, so refused calls are traced too): a server span per
   * sampled call, named `<service>/<method>`, with the OTel RPC attributes plus `prism.pattern`
   * and, once resolved, `prism.namespace`. A client's W3C `traceparent` is continued (and its
   * sampled flag honoured); a call without one is sampled when `sampleRoot()` says so. An
   * unsampled call costs a metadata look-up and that draw. The span ends with the call (a
   * stream's when the stream ends). Attributes never carry request data: no ids, keys, values or
   * error messages.
   *
   * @example new ServiceSet(server, [calls.serverSpans(tracer, () => Math.random() < 0.01), telemetry(), …, calls.callSignals()], logger)
   */
  serverSpans(tracer: Tracer, sampleRoot: () => boolean): Interceptor {
    return (next, info) => {
      const attributes: Attributes = Object.freeze({
        "rpc.system": "grpc",
        "rpc.service": info.service.typeName,
        "rpc.method": info.method.name,
        ...(info.pattern && { "prism.pattern": info.pattern }),
      });
      const options = { kind: SpanKind.SERVER, attributes };
      return (request, ctx) => {
        const parent = remoteParent(ctx.metadata);
        if (parent === ROOT_CONTEXT && !sampleRoot()) return next(request, ctx);
        const span = tracer.startSpan(info.path, options, parent);
        if (!span.isRecording()) return next(request, ctx);
        this.contexts.set(ctx, trace.setSpan(parent, span));
        ctx.onEnd(endServerSpan.bind(undefined, span));
        return next(request, ctx);
      };
    };
  }

  /**
   * The last step before the handler: a sampled call gets an abort signal of its own (unary
   * calls share deadline signals) that follows the deadline's, and is known to carry this call's
   * trace. A signal derived further on (a Tail's, which the gateway's shutdown fires too) is not.
   *
   * @example compose([calls.serverSpans(tracer, sample), deadline(settings, cancel), calls.callSignals()], handler, info)
   */
  callSignals(): Interceptor {
    return (next) => (request, ctx) => {
      const traced = this.contexts.get(ctx);
      if (traced !== undefined) {
        ctx.signal = followingSignal(ctx);
        this.signals.set(ctx.signal, traced);
      }
      return next(request, ctx);
    };
  }
}

/** The client's span context from `traceparent`/`tracestate`, or ROOT_CONTEXT (none or malformed). */
function remoteParent(metadata: Metadata): Context {
  if (metadata.get(TRACEPARENT).length === 0) return ROOT_CONTEXT;
  const extracted = propagator.extract(ROOT_CONTEXT, metadata, metadataGetter);
  return trace.getSpanContext(extracted) ? extracted : ROOT_CONTEXT;
}

/** A signal that aborts (with the same reason) when the call's does, released when the call ends. */
function followingSignal(ctx: RequestContext): AbortSignal {
  const followed = ctx.signal;
  const controller = new AbortController();
  // A traversal's backend calls may all listen at once, as on the shared deadline signals.
  setMaxListeners(0, controller.signal);
  if (followed.aborted) {
    controller.abort(followed.reason);
  } else {
    const abort = () => controller.abort(followed.reason);
    followed.addEventListener("abort", abort, { once: true });
    ctx.onEnd(() => followed.removeEventListener("abort", abort));
  }
  return controller.signal;
}

/** Status code, namespace and, on failure, the error's code name and reason; then the span ends. */
function endServerSpan(span: Span, ctx: RequestContext, error: unknown): void {
  if (ctx.namespace) span.setAttribute("prism.namespace", ctx.namespace.spec.name);
  if (error === undefined) {
    span.setAttribute("rpc.grpc.status_code", GrpcCode.OK);
  } else {
    const prismError = isPrismError(error) ? error : undefined;
    const code = GRPC_CODE_OF_KIND[prismError?.kind ?? "Internal"];
    const reason = prismError?.reason ?? "INTERNAL";
    span.setAttributes({
      "rpc.grpc.status_code": code,
      "error.type": CODE_NAMES[code] ?? String(code),
      "prism.error.reason": reason,
    });
    // The reason, never the message: messages may name ids the client sent.
    span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
  }
  span.end();
}
