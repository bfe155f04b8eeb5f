import { create } from "@bufbuild/protobuf";
import { PrismError } from "@prism/core";
import { type WhoAmIResponse, WhoAmIResponseSchema } from "@prism/proto/prism/admin/v1/admin";
import type { NamespaceSpec } from "../config/namespace-spec.js";
import { namespaceSpecSchema } from "../config/namespace-spec.js";
import type { Principal, RequestContext } from "../context.js";
import type { Interceptor } from "../pipeline/pipeline.js";
import type { AuthMode } from "./authenticator.js";

/** Who may administer this gateway: the auth mode and the admin groups of the config. */
export interface AdminAccess {
  readonly mode: AuthMode;
  readonly adminGroups: readonly string[];
}

const ADMIN_SERVICE = "prism.admin.v1.AdminService";
/** AdminService methods any authenticated caller may use. */
const OPEN_ADMIN_METHODS: ReadonlySet<string> = new Set(["WhoAmI"]);

/**
 * True when `principal` may call AdminService: with auth mode `none` the caller is the loopback
 * operator (the only one who can reach such a gateway); otherwise a member of an admin group.
 */
export function isAdmin(access: AdminAccess, principal: Principal): boolean {
  if (access.mode === "none") return true;
  return principal.groups.some((group) => access.adminGroups.includes(group));
}

/**
 * The admin step, after authenticate: every AdminService method but WhoAmI needs an admin
 * group (PERMISSION_DENIED, ADMIN_REQUIRED). Other services pass untouched.
 */
export function requireAdmin(access: AdminAccess): Interceptor {
  return (next, info) => {
    if (info.service.typeName !== ADMIN_SERVICE || OPEN_ADMIN_METHODS.has(info.method.name)) return next;
    return (request, ctx) => {
      if (!isAdmin(access, ctx.principal)) {
        throw new PrismError("PermissionDenied", `${info.method.name} needs membership in an admin group`, {
          reason: "ADMIN_REQUIRED",
          metadata: { method: info.method.name },
        });
      }
      return next(request, ctx);
    };
  };
}

/** AdminService.WhoAmI: the caller as the authenticate step saw it. */
export function whoAmI(access: AdminAccess, ctx: RequestContext): WhoAmIResponse {
  return create(WhoAmIResponseSchema, {
    subject: ctx.principal.subject,
    groups: [...ctx.principal.groups],
    admin: isAdmin(access, ctx.principal),
    authMode: access.mode,
  });
}

/**
 * "Applying a namespace cannot grant its applier more than they hold." The rule, with auth on
 * (mode `none` has no identities, so it does not apply):
 *
 * - every entry of the applied spec's `access.read`, `.write` and `.pii` must be one the applier
 *   matches (`group:G` with G among the applier's groups, `user:S` / `service:S` with S the
 *   applier's subject), OR already be on the same list of the namespace as it is now (so an
 *   applier can change limits or remove grants without holding everyone else's);
 * - a spec without `access` opens the namespace to every authenticated caller, which no applier
 *   holds; it is accepted only when the namespace exists and is already open.
 *
 * Admin-group membership lets a caller apply namespaces at all; it is not a licence to hand out
 * data access. A refusal is PERMISSION_DENIED with reason GRANT_EXCEEDS_APPLIER, naming the first
 * entry that is not held. A spec that does not parse is left to the registry's validation.
 */
export function checkGrants(
  access: AdminAccess,
  principal: Principal,
  spec: unknown,
  current: NamespaceSpec | undefined,
): void {
  if (access.mode === "none") return;
  const parsed = namespaceSpecSchema.safeParse(spec);
  if (!parsed.success) return;
  const lists = parsed.data.access;
  if (!lists) {
    if (current && !current.access) return;
    throw grantRefused(
      "a namespace without access lists is open to every caller; list who may read, write and see PII",
      "*",
    );
  }
  for (const action of ["read", "write", "pii"] as const) {
    for (const entry of lists[action]) {
      if (holds(principal, entry) || current?.access?.[action].includes(entry)) continue;
      throw grantRefused(`access.${action} grants ${entry}, which the applier does not hold`, entry);
    }
  }
}

function holds(principal: Principal, entry: string): boolean {
  if (entry.startsWith("group:")) return principal.groups.includes(entry.slice(6));
  return entry === `user:${principal.subject}` || entry === `service:${principal.subject}`;
}

function grantRefused(message: string, entry: string): PrismError {
  return new PrismError("PermissionDenied", message, {
    reason: "GRANT_EXCEEDS_APPLIER",
    metadata: { entry: entry.slice(0, 210) },
  });
}
