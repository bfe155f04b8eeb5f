import { isPrismError, PrismError } from "@prism/core";
import type { Authenticator } from "../auth/authenticator.js";
import { ANONYMOUS, type EndHook, type Principal, type RequestContext } from "../context.js";
import type { NamespaceRegistry } from "../registry/namespace-registry.js";
import type { ResolvedNamespace } from "../registry/resolved-namespace.js";
import type { RequestMetrics } from "../telemetry/request-metrics.js";
import { DeadlineSignals } from "./deadline-signals.js";
import type { Access, Interceptor, Next } from "./pipeline.js";

/**
 * Step 1, authenticate: fills `ctx.principal` from the call's credentials (`auth/`): mode `none`
 * (loopback only, enforced by the config) makes every caller anonymous; `oidc` verifies the bearer
 * token (a verified token is cached, so the common case stays synchronous); `mtls` reads the
 * client certificate. Failures are UNAUTHENTICATED with a reason.
 */
export function authenticate(authenticator: Authenticator = NO_AUTH): Interceptor {
  return (next, info) => {
    // Health answers probes (load balancers, kubelets) that carry no credentials: anonymous.
    return authenticated(info.service?.typeName === HEALTH_SERVICE ? NO_AUTH : authenticator, next);
  };
}

function authenticated(authenticator: Authenticator, next: Next): Next {
  return (request, ctx) => {
    const principal = authenticator.authenticate(ctx);
    if (!(principal instanceof Promise)) {
      ctx.principal = principal;
      return next(request, ctx);
    }
    return principal.then((verified) => {
      ctx.principal = verified;
      return next(request, ctx);
    });
  };
}

const HEALTH_SERVICE = "grpc.health.v1.Health";

const NO_AUTH: Authenticator = { mode: "none", authenticate: () => ANONYMOUS };

/** Deadline settings: the default applies when the client sets none; the cap bounds any deadline. */
export interface DeadlineSettings {
  defaultDeadlineMs: number;
  maxDeadlineMs: number;
}

/**
 * Step 2, deadline: the client's deadline (or the default, capped by the maximum) becomes an
 * AbortSignal that reaches every backend call. Streams get a signal of their own that a client
 * cancel fires too; unary calls share deadline signals (see {@link DeadlineSignals}) — a
 * cancelled unary call's answer is dropped by the transport, and its backend work is bounded by
 * the deadline.
 */
export function deadline(settings: DeadlineSettings, onCancel: CancelSource): Interceptor {
  const shared = new DeadlineSignals();
  return (next, info) => {
    const setDeadline = (ctx: RequestContext, now: number) => {
      if (info.openEnded) return; // the client's deadline, if any, uncapped
      const requested = Number.isFinite(ctx.deadline) ? ctx.deadline : now + settings.defaultDeadlineMs;
      ctx.deadline = Math.min(requested, now + settings.maxDeadlineMs);
    };
    if (info.method.methodKind === "unary") {
      return (request, ctx) => {
        setDeadline(ctx, Date.now());
        ctx.signal = shared.signalAt(ctx.deadline);
        return next(request, ctx);
      };
    }
    return (request, ctx) => {
      const now = Date.now();
      setDeadline(ctx, now);
      const controller = new AbortController();
      const timer = Number.isFinite(ctx.deadline)
        ? setTimeout(
            () => controller.abort(new DOMException("deadline exceeded", "TimeoutError")),
            Math.min(Math.max(0, ctx.deadline - now), 2 ** 31 - 1),
          )
        : undefined;
      const release = onCancel(ctx, () =>
        controller.abort(new DOMException("cancelled by client", "AbortError")),
      );
      ctx.signal = controller.signal;
      ctx.onEnd(() => {
        clearTimeout(timer);
        release();
      });
      return next(request, ctx);
    };
  };
}

/** Registers a client-cancel listener for the call behind `ctx`; returns its removal. */
export type CancelSource = (ctx: RequestContext, cancel: () => void) => () => void;

/**
 * Step 3, resolve: a pattern service's request names its namespace; it must exist and serve the
 * method's pattern. The resolved namespace (spec, binding, limits) travels on the context.
 */
export function resolveNamespace(registry: NamespaceRegistry): Interceptor {
  return (next, info) => {
    const pattern = info.pattern;
    if (!pattern) return next;
    return (request, ctx) => {
      const name = (request as { namespace: string }).namespace;
      const namespace = registry.get(name);
      if (!namespace) throw notFound(name);
      if (namespace.spec.pattern !== pattern) {
        throw new PrismError(
          "InvalidArgument",
          `namespace ${name} serves the ${namespace.spec.pattern} pattern, not ${pattern}`,
          {
            reason: "WRONG_PATTERN",
            field: "namespace",
            metadata: { namespace: name, pattern: namespace.spec.pattern },
          },
        );
      }
      ctx.namespace = namespace;
      return next(request, ctx);
    };
  };
}

function notFound(name: string): PrismError {
  if (name === "") {
    return new PrismError("InvalidArgument", "namespace is required", {
      reason: "NAMESPACE_REQUIRED",
      field: "namespace",
    });
  }
  const shown = name.slice(0, 100);
  return new PrismError("NotFound", `namespace ${JSON.stringify(shown)} does not exist`, {
    reason: "NAMESPACE_NOT_FOUND",
    field: "namespace",
    metadata: { namespace: shown },
  });
}

/**
 * Step 4, authorize: when a namespace declares `access`, each action is limited to its list
 * (`user:SUBJECT`, `service:SUBJECT` or `group:NAME`; an empty list admits nobody). A namespace
 * without `access` is open to every authenticated principal.
 */
export function authorize(): Interceptor {
  return (next, info) => {
    const action = info.access;
    if (!action) return next;
    return (request, ctx) => {
      const namespace = ctx.namespace!;
      if (!mayAccess(namespace, action, ctx.principal)) {
        throw new PrismError(
          "PermissionDenied",
          `${ctx.principal.subject} may not ${action} namespace ${namespace.spec.name}`,
          { reason: "ACCESS_DENIED", metadata: { namespace: namespace.spec.name, access: action } },
        );
      }
      return next(request, ctx);
    };
  };
}

/** True when `principal` is on the namespace's list for `action` (or the namespace has no lists). */
export function mayAccess(namespace: ResolvedNamespace, action: Access, principal: Principal): boolean {
  const lists = namespace.spec.access;
  if (!lists) return true;
  return lists[action].some(
    (entry) =>
      entry === `user:${principal.subject}` ||
      entry === `service:${principal.subject}` ||
      (entry.startsWith("group:") && principal.groups.includes(entry.slice(6))),
  );
}

/**
 * Step 5, admission: the namespace's rate, the caller's own rate (`principal_rps`, auth on) and
 * the namespace's calls in progress (`concurrency`; a slot is freed when the call ends).
 */
export function rateLimit(): Interceptor {
  return (next, info) => {
    if (!info.pattern) return next;
    // An open-ended stream (a tail) holds no concurrency slot: it lasts as long as its reader.
    const counted = !info.openEnded;
    return (request, ctx) => {
      const { admission, spec } = ctx.namespace!;
      if (admission) {
        const principal = ctx.principal.subject === ANONYMOUS.subject ? undefined : ctx.principal.subject;
        const release = admission.admit(spec.name, principal, counted);
        if (release) ctx.onEnd(release);
      }
      return next(request, ctx);
    };
  };
}

/**
 * Log / trace / metrics, recorded when the call ends. Composed outermost so that calls refused
 * by an earlier step are recorded as well. Failures the server owns (internal, unavailable) are
 * warnings; refusals are debug. Records carry method, namespace, kind and reason — never data.
 * With `metrics`, each call is counted and timed too (`telemetry/request-metrics.ts`).
 */
export function telemetry(metrics?: RequestMetrics): Interceptor {
  return (next, info) => {
    const record: EndHook = (ctx, error) => {
      if (error === undefined) return;
      const prismError = isPrismError(error) ? error : undefined;
      const kind = prismError?.kind ?? "Internal";
      const fields = {
        method: info.path,
        namespace: ctx.namespace?.spec.name,
        kind,
        reason: prismError?.reason ?? "INTERNAL",
        cause: describeCause(prismError ? prismError.cause : error),
      };
      if (kind === "Internal" || kind === "Unavailable") ctx.logger.warn(fields, "request failed");
      else ctx.logger.debug(fields, "request rejected");
    };
    if (metrics) {
      const calls = metrics.method(info);
      return (request, ctx) => {
        const started = performance.now();
        // One hook (a closure for the start time), not two: a single hook needs no array.
        ctx.onEnd((ended, error) => {
          calls.record(ended.namespace?.spec.name ?? "", error, (performance.now() - started) / 1000);
          record(ended, error);
        });
        return next(request, ctx);
      };
    }
    return (request, ctx) => {
      ctx.onEnd(record);
      return next(request, ctx);
    };
  };
}

/** A driver error's name, code and message for the log; never its data or stack. */
function describeCause(cause: unknown): Record<string, unknown> | undefined {
  if (!(cause instanceof Error)) return cause === undefined ? undefined : { value: typeof cause };
  return { name: cause.name, code: (cause as { code?: unknown }).code, message: cause.message };
}
