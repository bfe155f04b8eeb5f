import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { type Backend, capabilityNames, PrismError } from "@prism/core";
import {
  type ApplyNamespaceRequest,
  type ApplyNamespaceResponse,
  ApplyNamespaceResponseSchema,
  BackendSchema,
  CircuitState,
  type DeleteNamespaceRequest,
  type DeleteNamespaceResponse,
  DeleteNamespaceResponseSchema,
  type GetNamespaceRequest,
  type GetNamespaceResponse,
  GetNamespaceResponseSchema,
  HealthStatus,
  type ListBackendsResponse,
  ListBackendsResponseSchema,
  type ListNamespacesResponse,
  ListNamespacesResponseSchema,
  type ListSchemasResponse,
  type RegisterSchemaRequest,
  type RegisterSchemaResponse,
  type WhoAmIRequest,
  type WhoAmIResponse,
} from "@prism/proto/prism/admin/v1/admin";
import { parse as parseYaml } from "yaml";
import { type AdminAccess, checkGrants, whoAmI } from "../auth/admin-access.js";
import type { RequestContext } from "../context.js";
import { listSchemas, registerSchema } from "../pii/schema-admin.js";
import type { NamespaceRegistry } from "../registry/namespace-registry.js";
import type { CircuitBreakers } from "../resilience/circuit-breaker.js";
import { namespaceFromMessage, namespaceToMessage, PATTERN_OF } from "./namespace-message.js";

const HEALTH_TIMEOUT_MS = 2000;

/**
 * prism.admin.v1.AdminService: namespaces (list, get, apply, delete) and backends (list with a
 * live health probe). Shadow, schema and backfill methods belong to later changes and answer
 * UNIMPLEMENTED until then.
 */
const CIRCUIT_STATES = {
  none: CircuitState.UNSPECIFIED,
  closed: CircuitState.CLOSED,
  open: CircuitState.OPEN,
  "half-open": CircuitState.HALF_OPEN,
} as const;

export class AdminService {
  constructor(
    private readonly registry: NamespaceRegistry,
    private readonly backends: ReadonlyMap<string, Backend>,
    /** Who may administer (auth mode, admin groups): WhoAmI and the grant rule of applyNamespace. */
    private readonly access: AdminAccess = { mode: "none", adminGroups: [] },
    /** The backends' circuit breakers, when on: their state is part of ListBackends. */
    private readonly breakers?: CircuitBreakers,
  ) {}

  async whoAmI(_request: WhoAmIRequest, ctx: RequestContext): Promise<WhoAmIResponse> {
    return whoAmI(this.access, ctx);
  }

  async listNamespaces(): Promise<ListNamespacesResponse> {
    return create(ListNamespacesResponseSchema, { namespaces: this.registry.list().map(namespaceToMessage) });
  }

  async getNamespace(request: GetNamespaceRequest): Promise<GetNamespaceResponse> {
    const namespace = this.registry.get(request.name);
    if (!namespace) {
      throw new PrismError(
        "NotFound",
        `namespace ${JSON.stringify(request.name.slice(0, 100))} does not exist`,
        {
          reason: "NAMESPACE_NOT_FOUND",
          field: "name",
        },
      );
    }
    return create(GetNamespaceResponseSchema, { namespace: namespaceToMessage(namespace) });
  }

  async applyNamespace(request: ApplyNamespaceRequest, ctx: RequestContext): Promise<ApplyNamespaceResponse> {
    let spec: unknown;
    if (request.spec.case === "yaml") {
      if (request.spec.value.length > 64 * 1024) {
        throw new PrismError("InvalidArgument", "yaml: at most 64 KiB", {
          reason: "INVALID_NAMESPACE",
          field: "yaml",
        });
      }
      try {
        spec = parseYaml(request.spec.value);
      } catch (error) {
        throw new PrismError("InvalidArgument", `yaml: ${(error as Error).message.split("\n")[0]}`, {
          reason: "INVALID_NAMESPACE",
          field: "yaml",
        });
      }
    } else if (request.spec.case === "namespace") {
      spec = namespaceFromMessage(request.spec.value);
    } else {
      throw new PrismError("InvalidArgument", "set namespace or yaml", { reason: "INVALID_NAMESPACE" });
    }
    const name = (spec as { name?: unknown } | null)?.name;
    const current = typeof name === "string" ? this.registry.get(name)?.spec : undefined;
    checkGrants(this.access, ctx.principal, spec, current);
    const { namespace, created } = await this.registry.apply(spec, request.dryRun);
    return create(ApplyNamespaceResponseSchema, { namespace: namespaceToMessage(namespace), created });
  }

  /** Versions the set's changed files; an incompatible change is refused with what changed. */
  registerSchema(request: RegisterSchemaRequest): Promise<RegisterSchemaResponse> {
    return registerSchema(this.registry, request);
  }

  listSchemas(): Promise<ListSchemasResponse> {
    return listSchemas(this.registry);
  }

  async deleteNamespace(request: DeleteNamespaceRequest): Promise<DeleteNamespaceResponse> {
    await this.registry.delete(request.name);
    return create(DeleteNamespaceResponseSchema, {});
  }

  async listBackends(): Promise<ListBackendsResponse> {
    const backends = await Promise.all(
      [...this.backends.values()].map(async (backend) => {
        const report = await backend.health(AbortSignal.timeout(HEALTH_TIMEOUT_MS));
        return create(BackendSchema, {
          name: backend.name,
          type: backend.type,
          health: report.ok ? HealthStatus.SERVING : HealthStatus.NOT_SERVING,
          healthMessage: report.message ?? "",
          healthLatency: durationFromMs(Math.round(report.latencyMs)),
          patterns: (["keyvalue", "timeseries", "graph"] as const)
            .filter((pattern) => backend[pattern] !== undefined)
            .map((pattern) => PATTERN_OF[pattern]),
          capabilities: capabilityNames(backend),
          circuit: CIRCUIT_STATES[this.breakers?.get(backend.name)?.state ?? "none"],
        });
      }),
    );
    return create(ListBackendsResponseSchema, {
      backends: backends.sort((a, b) => a.name.localeCompare(b.name)),
    });
  }

  /** Methods of the admin API that later changes implement. */
  static notYet(method: string): () => Promise<never> {
    return async () => {
      throw new PrismError("Unimplemented", `${method} is not available in this version of the gateway`, {
        reason: "NOT_IMPLEMENTED",
      });
    };
  }
}
