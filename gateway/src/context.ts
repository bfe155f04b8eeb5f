import type { PeerCertificate } from "node:tls";
import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "./log.js";
import type { ResolvedNamespace } from "./registry/resolved-namespace.js";

/** Who is calling. Filled by the authenticate step; anonymous when auth is off (loopback only). */
export interface Principal {
  subject: string;
  groups: readonly string[];
}

export const ANONYMOUS: Principal = Object.freeze({ subject: "anonymous", groups: Object.freeze([]) });

/**
 * Everything a call carries through the gateway, passed explicitly to every layer (never a
 * global). The per-call pipeline (`pipeline/`) fills it in order: principal, deadline, namespace.
 */
export interface RequestContext {
  /** Fully qualified method, e.g. `prism.keyvalue.v1.KeyValueService/Get`. */
  readonly method: string;
  /** The request's gRPC metadata (credentials are read from it by the authenticate step). */
  readonly metadata: Metadata;
  /** The client's TLS certificate, when the listener is TLS and the client presented one (mTLS). */
  peerCertificate?(): PeerCertificate | undefined;
  /** Fires at the deadline, when the client cancels, or when the gateway shuts down. */
  signal: AbortSignal;
  /** Epoch ms at which `signal` fires for the deadline. */
  deadline: number;
  principal: Principal;
  readonly logger: Logger;
  /** The namespace, once the resolve step found it (pattern services only). */
  namespace?: ResolvedNamespace;
  /**
   * Runs `hook` when the call has ended (answered, failed or cancelled), before the answer is
   * sent — how steps release timers and record outcomes without wrapping the call in promises.
   */
  onEnd(hook: EndHook): void;
}

/** Told how a call ended: `error` is what it failed with, undefined on success. */
export type EndHook = (ctx: RequestContext, error: unknown) => void;

/**
 * What a pattern service's handler receives: a call whose namespace is resolved, of the right
 * pattern, authorized for this principal and within its rate limit.
 */
export interface NamespacedContext extends RequestContext {
  readonly namespace: ResolvedNamespace;
}
