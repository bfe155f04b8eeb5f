import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { PatternName } from "@prism/core";
import type { RequestContext } from "../context.js";

/** What a call may do to a namespace's data; checked against the namespace's access lists. */
export type Access = "read" | "write";

/** The rest of the pipeline: resolves with the unary response, or when a stream has been sent. */
export type Next = (request: unknown, ctx: RequestContext) => Promise<unknown>;

/** What an interceptor knows about the method it is composed for (fixed at serve time). */
export interface MethodInfo {
  readonly service: DescService;
  readonly method: DescMethod;
  /** `prism.keyvalue.v1.KeyValueService/Get`. */
  readonly path: string;
  /** Set for pattern services: the request's `namespace` must name a namespace of this pattern. */
  readonly pattern?: PatternName;
  /** What the method does to the namespace's data (pattern services only). */
  readonly access?: Access;
  /** A stream with no default or maximum deadline (see `PatternPolicy.openEnded`). */
  readonly openEnded?: boolean;
}

/**
 * One step of the per-call pipeline, in the style of connect-es interceptors: given the rest of
 * the chain, return a function that does this step's work and calls it. Interceptors are composed
 * once per method when a service is served, so a call allocates no closures for them.
 *
 * @example const timing: Interceptor = (next) => async (req, ctx) => { const t = Date.now(); try { return await next(req, ctx) } finally { ctx.logger.debug({ ms: Date.now() - t }) } }
 */
export type Interceptor = (next: Next, info: MethodInfo) => Next;

/** Composes interceptors around a handler; the first one listed runs first. */
export function compose(interceptors: readonly Interceptor[], handler: Next, info: MethodInfo): Next {
  let next = handler;
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next, info);
  return next;
}
