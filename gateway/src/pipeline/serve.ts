import type { DescFile, DescMethod, DescService, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type {
  handleBidiStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  Server,
  ServerDuplexStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  UntypedHandleCall,
} from "@grpc/grpc-js";
import { abortError, type PatternName, PrismError } from "@prism/core";
import { grpcServiceDefinition } from "@prism/proto/grpc";
import type { EndHook, NamespacedContext, RequestContext } from "../context.js";
import { ANONYMOUS } from "../context.js";
import { toGrpcStatus } from "../grpc/status.js";
import type { Logger } from "../log.js";
import type { CancelSource } from "./interceptors.js";
import { type Access, compose, type Interceptor, type MethodInfo, type Next } from "./pipeline.js";

type In<M> = M extends { input: infer I extends DescService["methods"][number]["input"] }
  ? MessageShape<I>
  : never;
type Out<M> = M extends { output: infer O extends DescService["methods"][number]["output"] }
  ? MessageShape<O>
  : never;

/** The handler of one method, typed from the generated descriptor: unary, server or bidi stream. */
export type MethodImpl<M extends GenServiceMethods[string], C> = M["methodKind"] extends "unary"
  ? (request: In<M>, ctx: C) => Promise<Out<M>>
  : M["methodKind"] extends "server_streaming"
    ? (request: In<M>, ctx: C) => AsyncIterable<Out<M>>
    : M["methodKind"] extends "bidi_streaming"
      ? (requests: AsyncIterable<In<M>>, ctx: C) => AsyncIterable<Out<M>>
      : never;

/** An implementation of some or all methods of a service; the rest answer UNIMPLEMENTED. */
export type ServiceImpl<S extends GenServiceMethods, C = RequestContext> = {
  [K in keyof S]?: MethodImpl<S[K], C>;
};

/** How a pattern service's calls are routed: its pattern and what each method does to data. */
export interface PatternPolicy<S extends GenServiceMethods> {
  pattern: PatternName;
  access: { [K in keyof S]: Access };
  /**
   * Open-ended streams (a tail): no default deadline and no cap, so they run until the client
   * cancels, its own deadline passes or the gateway shuts down.
   */
  openEnded?: readonly (keyof S)[];
}

/** The per-call state the pipeline fills; the grpc-js call stays private to this file. */
class CallState implements RequestContext {
  signal: AbortSignal = NEVER;
  principal = ANONYMOUS;
  namespace: RequestContext["namespace"] = undefined;
  // One hook needs no array (the common case: telemetry's).
  private hook: EndHook | undefined = undefined;
  private hooks: EndHook[] | undefined = undefined;

  constructor(
    readonly method: string,
    readonly call:
      | ServerUnaryCall<unknown, unknown>
      | ServerWritableStream<unknown, unknown>
      | ServerDuplexStream<unknown, unknown>,
    public deadline: number,
    readonly logger: Logger,
  ) {}

  get metadata() {
    return this.call.metadata;
  }

  peerCertificate() {
    const cert = this.call.getAuthContext().sslPeerCertificate;
    // Node answers {} on a TLS connection without a client certificate.
    return cert && Object.keys(cert).length > 0 ? cert : undefined;
  }

  onEnd(hook: EndHook): void {
    if (this.hook === undefined) this.hook = hook;
    else if (this.hooks) this.hooks.push(hook);
    else this.hooks = [hook];
  }

  /** Runs the end hooks, latest first (as `finally` blocks would); a failing hook is logged. */
  end(error: unknown): void {
    const { hook, hooks } = this;
    this.hook = undefined;
    this.hooks = undefined;
    if (hooks) for (let i = hooks.length - 1; i >= 0; i--) this.runHook(hooks[i]!, error);
    if (hook) this.runHook(hook, error);
  }

  private runHook(hook: EndHook, error: unknown): void {
    try {
      hook(this, error);
    } catch (hookError) {
      this.logger.error({ err: (hookError as Error).message, method: this.method }, "end hook failed");
    }
  }
}

const NEVER = new AbortController().signal;

/** Client cancels reach the deadline step through this (it knows only the context). */
export const cancelOfCall: CancelSource = (ctx, cancel) => {
  const call = (ctx as CallState).call as ServerUnaryCall<unknown, unknown>;
  call.once("cancelled", cancel);
  return () => call.removeListener("cancelled", cancel);
};

/**
 * The gateway's gRPC services: every method of every served service runs through one interceptor
 * chain, and the list of served services feeds health and reflection.
 *
 * @example
 * const services = new ServiceSet(server, [telemetry(), authenticate(), deadline(...)], logger);
 * services.serve(KeyValueService, kv, { pattern: "keyvalue", access: { get: "read", put: "write", ... } });
 */
export class ServiceSet {
  private readonly served: DescService[] = [];

  constructor(
    private readonly server: Server,
    private readonly interceptors: readonly Interceptor[],
    private readonly logger: Logger,
  ) {}

  /** Fully qualified names of the services served so far. */
  get serviceNames(): string[] {
    return this.served.map((service) => service.typeName);
  }

  /** The files that define the served services. */
  get files(): DescFile[] {
    return [...new Set(this.served.map((service) => service.file))];
  }

  /** Serves a service; with a policy, every call's namespace is resolved and checked first. */
  serve<S extends GenServiceMethods>(service: GenService<S>, impl: ServiceImpl<S>): void;
  serve<S extends GenServiceMethods>(
    service: GenService<S>,
    impl: ServiceImpl<S, NamespacedContext>,
    policy: PatternPolicy<S>,
  ): void;
  serve<S extends GenServiceMethods>(
    service: GenService<S>,
    impl: ServiceImpl<S, NamespacedContext> | ServiceImpl<S>,
    policy?: PatternPolicy<S>,
  ): void {
    const desc = service as unknown as DescService;
    const handlers: Record<string, UntypedHandleCall> = {};
    for (const method of desc.methods) {
      const local = method.localName as keyof S & string;
      const info: MethodInfo = {
        service: desc,
        method,
        path: `${desc.typeName}/${method.name}`,
        ...(policy ? { pattern: policy.pattern, access: policy.access[local] } : {}),
        ...(policy?.openEnded?.includes(local) ? { openEnded: true } : {}),
      };
      const implementation = impl[local] as Handler | undefined;
      handlers[method.localName] = this.handlerOf(method, info, implementation?.bind(impl));
    }
    this.server.addService(tolerantDefinition(desc), handlers);
    this.served.push(desc);
  }

  private handlerOf(method: DescMethod, info: MethodInfo, impl: Handler | undefined): UntypedHandleCall {
    const target = impl ?? unimplemented(info.path);
    switch (method.methodKind) {
      case "unary": {
        const chain = compose(this.interceptors, target as Next, info);
        const handle: handleUnaryCall<unknown, unknown> = (call, callback) => {
          if (call.request instanceof Undecodable) return callback(toGrpcStatus(call.request.error(info)));
          const ctx = new CallState(info.path, call, deadlineOf(call), this.logger);
          run(chain, call.request, ctx).then(
            (response) => {
              ctx.end(undefined);
              callback(null, response);
            },
            (error: unknown) => {
              ctx.end(error);
              callback(toGrpcStatus(error));
            },
          );
        };
        return handle;
      }
      case "server_streaming": {
        const handle: handleServerStreamingCall<unknown, unknown> = this.streamHandler(
          target,
          info,
          (call: ServerWritableStream<unknown, unknown>) => call.request,
        );
        return handle;
      }
      case "bidi_streaming": {
        const handle: handleBidiStreamingCall<unknown, unknown> = this.streamHandler(
          target,
          info,
          (call: ServerDuplexStream<unknown, unknown>) => incoming(call),
        );
        return handle;
      }
      default:
        throw new Error(`${info.path}: ${method.methodKind} methods are not served`);
    }
  }

  /** A server- or bidi-streaming handler: `input` is what the implementation iterates or reads. */
  private streamHandler<
    C extends ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
  >(target: Handler, info: MethodInfo, input: (call: C) => unknown): (call: C) => void {
    const chain = compose(this.interceptors, streamTo(target), info);
    return (call) => {
      const request = (call as { request?: unknown }).request;
      if (request instanceof Undecodable) {
        call.emit("error", toGrpcStatus(request.error(info)));
        return;
      }
      const ctx = new CallState(info.path, call, deadlineOf(call), this.logger);
      run(chain, input(call), ctx).then(
        () => {
          ctx.end(undefined);
          call.end();
        },
        (error: unknown) => {
          ctx.end(error);
          call.emit("error", toGrpcStatus(error));
        },
      );
    };
  }
}

/** Calls the chain, turning a synchronous throw of a step into a rejection. */
function run(chain: Next, request: unknown, ctx: RequestContext): Promise<unknown> {
  try {
    return chain(request, ctx);
  } catch (error) {
    return Promise.reject(error);
  }
}

type Handler = (request: unknown, ctx: RequestContext) => Promise<unknown> | AsyncIterable<unknown>;

function deadlineOf(call: { getDeadline(): Date | number }): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/** Innermost step of a streaming method: sends each message, waiting when the client is slow. */
function streamTo(impl: Handler): Next {
  return async (request, ctx) => {
    const { call } = ctx as CallState;
    const stream = call as ServerWritableStream<unknown, unknown>;
    for await (const message of impl(request, ctx) as AsyncIterable<unknown>) {
      if (stream.write(message)) continue;
      await drained(stream, ctx.signal);
    }
  };
}

function drained(stream: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const onDrain = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      stream.removeListener("drain", onDrain);
      reject(abortError(signal));
    };
    stream.once("drain", onDrain);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Requests of one bidi stream read ahead of the handler before reading pauses. */
const MAX_QUEUED_REQUESTS = 16;

/**
 * The client's messages on a bidi stream, ending when the client closes its side. (Iterating
 * the grpc-js call itself would destroy it at the end, before the status is sent.)
 */
async function* incoming(call: ServerDuplexStream<unknown, unknown>): AsyncIterable<unknown> {
  const queue: unknown[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const onData = (message: unknown) => {
    if (message instanceof Undecodable) return onError(message.error());
    queue.push(message);
    // Stop reading (HTTP/2 flow control then holds the client back) while answers lag behind.
    if (queue.length >= MAX_QUEUED_REQUESTS) call.pause();
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  const onError = (error: unknown) => {
    failure = error;
    onEnd();
  };
  call.on("data", onData);
  call.once("end", onEnd);
  call.once("error", onError);
  try {
    for (;;) {
      if (queue.length > 0) {
        const message = queue.shift();
        if (call.isPaused() && queue.length < MAX_QUEUED_REQUESTS / 2) call.resume();
        yield message;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    call.removeListener("data", onData);
    call.removeListener("end", onEnd);
    call.removeListener("error", onError);
  }
}

/**
 * A request message that did not decode. grpc-js answers a throwing deserializer with INTERNAL
 * (and a bidi stream's later message likewise), but a malformed request is the client's error:
 * the deserializer returns this instead and the handler answers INVALID_ARGUMENT.
 */
class Undecodable {
  constructor(private readonly cause: unknown) {}

  error(info?: MethodInfo): PrismError {
    const input = info ? ` ${info.method.input.typeName}` : "";
    return new PrismError("InvalidArgument", `the request is not a valid${input} message`, {
      reason: "MALFORMED_REQUEST",
      cause: this.cause,
    });
  }
}

/** The grpc-js definition of `desc` with request decoding that never throws (see `Undecodable`). */
function tolerantDefinition(desc: DescService): ServiceDefinition {
  const definition: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(grpcServiceDefinition(desc))) {
    const decode = method.requestDeserialize;
    definition[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (error) {
          return new Undecodable(error);
        }
      },
    };
  }
  return definition;
}

function unimplemented(path: string): Handler {
  return async () => {
    throw new PrismError("Unimplemented", `${path} is not implemented by this gateway`, {
      reason: "NOT_IMPLEMENTED",
    });
  };
}
