import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { errorDetails, type PromiseClient } from "@prism/proto/grpc";
import type { AdminService } from "@prism/proto/prism/admin/v1/admin";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { fromGrpcError, HttpError } from "./api-error.js";
import type {
  ApplyRequest,
  ApplyResult,
  AuditList,
  BackendList,
  BackfillView,
  NamespaceDetail,
  NamespaceList,
  PromoteRequest,
  SetShadowModeRequest,
  ShadowView,
  StartBackfillRequest,
  StartShadowRequest,
} from "./api-types.js";
import type { Guard } from "./guard.js";
import type { TrafficFeed } from "./traffic-feed.js";
import {
  auditEntryView,
  backendView,
  backfillView,
  namespaceView,
  SHADOW_MODES,
  shadowView,
} from "./views.js";

type Admin = PromiseClient<(typeof AdminService)["method"]> & { close(): void };
type Call = { headers: Record<string, string>; timeoutMs: number };

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const ID = /^[\w.:-]{1,200}$/;
const CALL_TIMEOUT_MS = 10_000;

/** A path parameter checked before it reaches the gateway (which checks it again). */
function param(request: FastifyRequest, name: string, shape: RegExp): string {
  const value = (request.params as Record<string, string | undefined>)[name] ?? "";
  if (!shape.test(value)) throw HttpError.of(400, "INVALID_ARGUMENT", `${name}: not a valid ${name}`);
  return value;
}

/** The JSON body as an object (fastify parsed it; size bounded by the server's bodyLimit). */
function body<T>(request: FastifyRequest): Partial<T> {
  const value = request.body;
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw HttpError.of(400, "INVALID_ARGUMENT", "the body must be a JSON object");
  }
  return value as Partial<T>;
}

function optionalNumber(value: unknown, field: string, max: number): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > max) {
    throw HttpError.of(400, "INVALID_ARGUMENT", `${field}: a number from 0 to ${max}`);
  }
  return value;
}

function shadowMode(value: unknown) {
  if (typeof value !== "string" || !(value in SHADOW_MODES)) {
    throw HttpError.of(400, "INVALID_ARGUMENT", "mode: dual-write, shadow-read or read-shadow");
  }
  return SHADOW_MODES[value as keyof typeof SHADOW_MODES];
}

function isoTime(value: unknown, field: string) {
  if (value === undefined || value === "") return undefined;
  const date = typeof value === "string" && value.length <= 64 ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime()))
    throw HttpError.of(400, "INVALID_ARGUMENT", `${field}: an ISO time`);
  return timestampFromDate(date);
}

/**
 * The JSON API under /api (types in api-types.ts): each route checks its input, calls one
 * AdminService RPC with the session's token, and maps the answer to a view. Nothing here reads a
 * backend or the config store: the gateway decides and enforces everything.
 */
export function registerRoutes(app: FastifyInstance, admin: Admin, guard: Guard, feed: TrafficFeed): void {
  /** Runs `handler` with the caller's call options, turning gRPC errors into API errors. */
  const route =
    <T>(mutation: boolean, handler: (request: FastifyRequest, call: Call) => Promise<T>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        const session = guard.check(request, mutation);
        const call = { headers: guard.headersOf(session), timeoutMs: CALL_TIMEOUT_MS };
        return await handler(request, call);
      } catch (error) {
        const failure = error instanceof HttpError ? error : fromGrpcError(error);
        return reply.code(failure.status).send(failure.body);
      }
    };

  app.get(
    "/api/namespaces",
    route(false, async (_request, call): Promise<NamespaceList> => {
      const { namespaces } = await admin.listNamespaces({}, call);
      const rates = feed.rates();
      return { namespaces: namespaces.map((n) => namespaceView(n, rates.get(n.name) ?? 0)) };
    }),
  );
  app.get(
    "/api/namespaces/:name",
    route(false, async (request, call): Promise<NamespaceDetail> => {
      const { namespace } = await admin.getNamespace({ name: param(request, "name", NAME) }, call);
      if (!namespace) throw HttpError.of(404, "NOT_FOUND", "no such namespace");
      return {
        namespace: namespaceView(namespace, feed.rates().get(namespace.name) ?? 0),
        yaml: namespace.yaml,
      };
    }),
  );
  app.post(
    "/api/namespaces",
    route(true, async (request, call): Promise<ApplyResult> => {
      const { yaml, dryRun } = body<ApplyRequest>(request);
      if (typeof yaml !== "string") throw HttpError.of(400, "INVALID_ARGUMENT", "yaml: required");
      const answer = await admin.applyNamespace(
        { spec: { case: "yaml", value: yaml }, dryRun: dryRun === true },
        call,
      );
      if (!answer.namespace) throw HttpError.of(500, "INTERNAL", "the gateway answered no namespace");
      return {
        namespace: namespaceView(answer.namespace, 0),
        created: answer.created,
        dryRun: dryRun === true,
      };
    }),
  );
  app.delete(
    "/api/namespaces/:name",
    route(true, async (request, call) => {
      await admin.deleteNamespace({ name: param(request, "name", NAME) }, call);
      return {};
    }),
  );
  app.get(
    "/api/backends",
    route(false, async (_request, call): Promise<BackendList> => {
      const { backends } = await admin.listBackends({}, call);
      return { backends: backends.map(backendView) };
    }),
  );
  app.get(
    "/api/traffic",
    route(false, async () => feed.snapshot()),
  );

  /** The migration view; a namespace without a shadow is a view without `shadow`, not an error. */
  const shadowStatus = async (name: string, call: Call): Promise<ShadowView> => {
    const [{ namespace }, status] = await Promise.all([
      admin.getNamespace({ name }, call),
      admin.getShadowStatus({ namespace: name }, call).catch((error: unknown) => {
        if (errorDetails(error).reason === "SHADOW_NOT_CONFIGURED") return undefined;
        throw error;
      }),
    ]);
    if (!namespace) throw HttpError.of(404, "NOT_FOUND", "no such namespace");
    return shadowView(namespace, status);
  };
  app.get(
    "/api/shadow/:namespace",
    route(false, (request, call) => shadowStatus(param(request, "namespace", NAME), call)),
  );
  app.post(
    "/api/shadow/:namespace/start",
    route(true, async (request, call) => {
      const namespace = param(request, "namespace", NAME);
      const { backend, mode, sampleRate } = body<StartShadowRequest>(request);
      if (typeof backend !== "string" || !NAME.test(backend)) {
        throw HttpError.of(400, "INVALID_ARGUMENT", "backend: a backend name");
      }
      await admin.startShadow(
        {
          namespace,
          shadow: {
            backend,
            mode: shadowMode(mode),
            sampleRate: optionalNumber(sampleRate, "sampleRate", 1) ?? 1,
          },
        },
        call,
      );
      return shadowStatus(namespace, call);
    }),
  );
  app.post(
    "/api/shadow/:namespace/mode",
    route(true, async (request, call) => {
      const namespace = param(request, "namespace", NAME);
      const { mode, sampleRate } = body<SetShadowModeRequest>(request);
      await admin.setShadowMode(
        { namespace, mode: shadowMode(mode), sampleRate: optionalNumber(sampleRate, "sampleRate", 1) ?? 0 },
        call,
      );
      return shadowStatus(namespace, call);
    }),
  );
  for (const action of ["promote", "rollback"] as const) {
    app.post(
      `/api/shadow/:namespace/${action}`,
      route(true, async (request, call) => {
        const namespace = param(request, "namespace", NAME);
        const force = body<PromoteRequest>(request).force === true;
        if (action === "promote") await admin.promoteShadow({ namespace, force }, call);
        else await admin.rollbackShadow({ namespace, force }, call);
        return shadowStatus(namespace, call);
      }),
    );
  }
  app.post(
    "/api/shadow/:namespace/stop",
    route(true, async (request, call) => {
      const namespace = param(request, "namespace", NAME);
      await admin.stopShadow({ namespace }, call);
      return shadowStatus(namespace, call);
    }),
  );

  app.post(
    "/api/backfill",
    route(true, async (request, call): Promise<BackfillView> => {
      const input = body<StartBackfillRequest>(request);
      if (typeof input.namespace !== "string" || !NAME.test(input.namespace)) {
        throw HttpError.of(400, "INVALID_ARGUMENT", "namespace: a namespace name");
      }
      const { job } = await admin.startBackfill(
        {
          namespace: input.namespace,
          maxRecordsPerSecond: Math.round(
            optionalNumber(input.recordsPerSecond, "recordsPerSecond", 10_000_000) ?? 0,
          ),
          maxBytesPerSecond: BigInt(
            Math.round(optionalNumber(input.bytesPerSecond, "bytesPerSecond", 1e12) ?? 0),
          ),
        },
        call,
      );
      if (!job) throw HttpError.of(500, "INTERNAL", "the gateway answered no job");
      return backfillView(job);
    }),
  );
  app.get(
    "/api/backfill/:id",
    route(false, async (request, call): Promise<BackfillView> => {
      const { job } = await admin.getBackfill({ id: param(request, "id", ID) }, call);
      if (!job) throw HttpError.of(404, "NOT_FOUND", "no such backfill");
      return backfillView(job);
    }),
  );
  app.post(
    "/api/backfill/:id/cancel",
    route(true, async (request, call): Promise<BackfillView> => {
      const id = param(request, "id", ID);
      await admin.cancelBackfill({ id }, call);
      const { job } = await admin.getBackfill({ id }, call);
      if (!job) throw HttpError.of(404, "NOT_FOUND", "no such backfill");
      return backfillView(job);
    }),
  );

  app.get(
    "/api/audit",
    route(false, async (request, call): Promise<AuditList> => {
      const query = request.query as Record<string, unknown>;
      const text = (name: string) => {
        const value = query[name];
        if (value === undefined) return "";
        if (typeof value !== "string" || value.length > 300) {
          throw HttpError.of(400, "INVALID_ARGUMENT", `${name}: at most 300 characters`);
        }
        return value;
      };
      const limit = query.limit === undefined ? 100 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw HttpError.of(400, "INVALID_ARGUMENT", "limit: 1 to 1000");
      }
      const startTime = isoTime(query.since, "since");
      const endTime = isoTime(query.until, "until");
      try {
        const { entries } = await admin.queryAudit(
          {
            namespace: text("namespace"),
            principal: text("principal"),
            limit,
            ...(startTime && { startTime }),
            ...(endTime && { endTime }),
          },
          call,
        );
        return { entries: entries.map(auditEntryView), available: true };
      } catch (error) {
        // A gateway without an audit log answers FAILED_PRECONDITION: the page says so.
        if ((error as { code?: number }).code === 9) return { entries: [], available: false };
        throw error;
      }
    }),
  );
}
