import { once } from "node:events";
import type {
  handleServerStreamingCall,
  handleUnaryCall,
  ServerUnaryCall,
  ServerWritableStream,
} from "@grpc/grpc-js";
import { abortError, isPrismError } from "@prism/core";
import { ANONYMOUS, type RequestContext } from "../context.js";
import type { Logger } from "../log.js";
import { toGrpcStatus } from "./status.js";

/** What every handler wrapper needs. */
export interface HandlerEnv {
  logger: Logger;
  /** Applied when the client sets no deadline, and caps the client's deadline. */
  defaultDeadlineMs: number;
}

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/**
 * Opens a request's context: an AbortSignal that fires at the call's deadline (capped by the
 * server default) or when the client cancels. `close` releases the timer.
 */
function openContext(call: AnyCall, method: string, env: HandlerEnv): { ctx: RequestContext; close(): void } {
  const now = Date.now();
  const clientDeadline = call.getDeadline();
  const requested = clientDeadline instanceof Date ? clientDeadline.getTime() : clientDeadline;
  const deadline = Math.min(
    Number.isFinite(requested) ? requested : Number.POSITIVE_INFINITY,
    now + env.defaultDeadlineMs,
  );
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("deadline exceeded", "TimeoutError")),
    Math.max(0, deadline - now),
  );
  const onCancel = () => controller.abort(new DOMException("cancelled by client", "AbortError"));
  call.once("cancelled", onCancel);
  return {
    ctx: { method, signal: controller.signal, deadline, principal: ANONYMOUS },
    close() {
      clearTimeout(timer);
      call.removeListener("cancelled", onCancel);
    },
  };
}

function logFailure(env: HandlerEnv, ctx: RequestContext, error: unknown): void {
  const serverSide = !isPrismError(error) || error.kind === "Internal" || error.kind === "Unavailable";
  const fields = {
    method: ctx.method,
    namespace: ctx.namespace,
    kind: isPrismError(error) ? error.kind : "Internal",
    reason: isPrismError(error) ? error.reason : "INTERNAL",
    cause: describeCause(isPrismError(error) ? error.cause : error),
  };
  if (serverSide) env.logger.warn(fields, "request failed");
  else env.logger.debug(fields, "request rejected");
}

/** A driver error's name, code and message for the log; never its data or stack. */
function describeCause(cause: unknown): Record<string, unknown> | undefined {
  if (!(cause instanceof Error)) return cause === undefined ? undefined : { value: typeof cause };
  return { name: cause.name, code: (cause as { code?: unknown }).code, message: cause.message };
}

/**
 * Wraps a promise-returning unary handler: context, deadline, error mapping, logging.
 *
 * @example get: unary("prism.keyvalue.v1.KeyValueService/Get", env, (req, ctx) => service.get(req, ctx))
 */
export function unary<Req, Res>(
  method: string,
  env: HandlerEnv,
  handler: (request: Req, ctx: RequestContext) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const { ctx, close } = openContext(call as AnyCall, method, env);
    handler(call.request, ctx).then(
      (response) => {
        close();
        callback(null, response);
      },
      (error: unknown) => {
        close();
        logFailure(env, ctx, error);
        callback(toGrpcStatus(error));
      },
    );
  };
}

/** Sends one streamed message, waiting for the client to drain when its buffer is full. */
export type Send<Res> = (message: Res) => Promise<void>;

/** Wraps a server-streaming handler; `send` applies backpressure. */
export function serverStream<Req, Res>(
  method: string,
  env: HandlerEnv,
  handler: (request: Req, ctx: RequestContext, send: Send<Res>) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const { ctx, close } = openContext(call as AnyCall, method, env);
    const send: Send<Res> = async (message) => {
      if (call.write(message)) return;
      try {
        await once(call, "drain", { signal: ctx.signal });
      } catch (error) {
        throw ctx.signal.aborted ? abortError(ctx.signal) : error;
      }
    };
    handler(call.request, ctx, send).then(
      () => {
        close();
        call.end();
      },
      (error: unknown) => {
        close();
        logFailure(env, ctx, error);
        call.emit("error", toGrpcStatus(error));
      },
    );
  };
}
