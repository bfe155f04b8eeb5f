/** Who is calling. Filled by the auth interceptor; anonymous when auth is off (loopback only). */
export interface Principal {
  subject: string;
  groups: readonly string[];
}

export const ANONYMOUS: Principal = Object.freeze({ subject: "anonymous", groups: Object.freeze([]) });

/**
 * Everything a request carries through the gateway, passed explicitly to every layer (never a
 * global): which method, the deadline as an AbortSignal that reaches every backend call, and the
 * principal.
 */
export interface RequestContext {
  /** Fully qualified method, e.g. `prism.keyvalue.v1.KeyValueService/Get`. */
  readonly method: string;
  /** Fires at the deadline or when the client cancels. */
  readonly signal: AbortSignal;
  /** Epoch ms at which `signal` fires for the deadline. */
  readonly deadline: number;
  readonly principal: Principal;
  /** The namespace once resolved; set by pattern services for logging. */
  namespace?: string;
}
