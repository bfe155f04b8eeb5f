import { status as GrpcStatus } from "@grpc/grpc-js";
import { PrismError } from "@prism/core";
import { errorDetails } from "@prism/proto/grpc";

/**
 * prismctl's exit codes: the contract scripts rely on, printed by `prismctl --help`. A failed
 * call exits with the code of its gRPC status (`statuses`); anything else that fails exits 1.
 */
export const EXIT_CODES = [
  { code: 0, statuses: [], meaning: "done" },
  {
    code: 1,
    statuses: [],
    meaning: "the gateway refused or failed the call, or the work failed (a job, a verify, import lines)",
  },
  { code: 2, statuses: [], meaning: "usage: unknown command or option, missing or malformed argument" },
  { code: 3, statuses: ["NOT_FOUND"], meaning: "not found: the namespace, job, node… named does not exist" },
  {
    code: 4,
    statuses: ["UNAUTHENTICATED", "PERMISSION_DENIED"],
    meaning: "denied: no valid credentials, or not allowed (see `prismctl whoami`)",
  },
  {
    code: 5,
    statuses: ["UNAVAILABLE", "DEADLINE_EXCEEDED"],
    meaning: "unavailable: the gateway or a backend is unreachable, or the deadline passed; retry",
  },
] as const;

export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, NOT_FOUND: 3, DENIED: 4, UNAVAILABLE: 5 } as const;

/** A command line prismctl cannot run: exit 2, with the command's usage. */
export class UsageError extends Error {
  /** `prismctl kv get`: set by the command that threw. */
  command?: string;
  /** `prismctl kv get [NAMESPACE] ID [options]`: set by the command that threw. */
  usage?: string;
}

/** What went wrong, from a gRPC error, a PrismError of prismctl's own, or any other error. */
export interface Failure {
  message: string;
  /** The gRPC status name (`NOT_FOUND`); absent for failures that are not calls. */
  status?: string;
  /** The ErrorInfo reason the gateway sent (`NAMESPACE_NOT_FOUND`), else the status name. */
  reason?: string;
  metadata: Record<string, string>;
  violations: readonly { field: string; description: string }[];
}

/** Where the failing command pointed, for hints. */
export interface FailureScene {
  address: string;
  /** The namespace the command used and where it came from, when not its own argument. */
  namespace?: { name: string; from: string };
}

type Hint = (failure: Failure, scene: FailureScene) => string;

const LOGIN = "log in with `prismctl login`, or pass a token with --token or PRISM_TOKEN";
const WHOAMI = "`prismctl whoami` shows who the gateway thinks you are and your groups";
const FRESH_TOKEN = "the gateway rejects this token: `prismctl login` again (or check --token / PRISM_TOKEN)";

/**
 * Hints by reason, else by gRPC status: what to do next. One table for every command.
 *
 * @example HINTS.NAMESPACE_NOT_FOUND(failure, scene) // "`prismctl namespace list` shows the namespaces"
 */
export const HINTS: Readonly<Record<string, Hint>> = {
  UNAVAILABLE: (_, { address }) =>
    `is a gateway listening on ${address}? start one with \`pnpm start\`, or point prismctl at yours with --addr, PRISM_ADDR or \`prismctl context use\``,
  DEADLINE_EXCEEDED: () => "the call ran out of time: retry, or ask for less (a smaller page or range)",
  BACKEND_UNAVAILABLE: () =>
    "the namespace's backend is unreachable: `prismctl backend list` shows each backend's health (local servers: `pnpm stack status`)",
  CONFIG_STORE_UNAVAILABLE: () => "the gateway's config store is unreachable: check its server, then retry",
  UNAUTHENTICATED: () => LOGIN,
  TOKEN_MISSING: () => LOGIN,
  TOKEN_EXPIRED: () => "your token expired: `prismctl login` again",
  TOKEN_MALFORMED: () => FRESH_TOKEN,
  TOKEN_SIGNATURE: () => FRESH_TOKEN,
  TOKEN_ISSUER: () => "the token is from another issuer: `prismctl login --issuer URL` with the gateway's",
  TOKEN_AUDIENCE: () => FRESH_TOKEN,
  TOKEN_CLAIMS: () => FRESH_TOKEN,
  CLIENT_CERT_MISSING: () =>
    "this gateway wants a client certificate: pass --tls-cert and --tls-key (or keep them in a context)",
  PERMISSION_DENIED: () => WHOAMI,
  ACCESS_DENIED: ({ metadata }) => {
    const access = metadata.access ?? "this";
    const ns = metadata.namespace ?? "NAMESPACE";
    return `you need ${access} access to ${ns}: its access.${access} list must name you (user:SUBJECT) or one of your groups; ${WHOAMI}, \`prismctl namespace get ${ns}\` the lists`;
  },
  ADMIN_REQUIRED: ({ metadata }) =>
    `${metadata.method ?? "this call"} needs membership in one of the gateway's auth.adminGroups; ${WHOAMI}`,
  GRANT_EXCEEDS_APPLIER: () => "a namespace you apply may grant only access you hold yourself",
  NAMESPACE_NOT_FOUND: (_, { namespace }) =>
    `\`prismctl namespace list\` shows the namespaces${namespace ? ` (${namespace.name} came from ${namespace.from}; pass NAMESPACE or -n to choose another)` : ""}`,
  NAMESPACE_REQUIRED: () =>
    "name one: the NAMESPACE argument, -n NS, PRISM_NAMESPACE or `prismctl context set`",
  WRONG_PATTERN: () =>
    "`prismctl namespace list` shows each namespace's pattern (keyvalue, timeseries, graph)",
  NAMESPACE_READ_ONLY: () =>
    "this namespace is declared in the gateway's config file: change it there (prismctl changes applied ones)",
  BACKFILL_NOT_FOUND: () =>
    "`prismctl backfill start` prints a job's id; `prismctl shadow status NAMESPACE` shows the newest",
  BACKFILL_RUNNING: ({ metadata }) =>
    `follow it: prismctl backfill status ${metadata.backfill ?? "ID"} --watch`,
  SHADOW_NOT_CONFIGURED: () => "start one: prismctl shadow start NAMESPACE --backend NAME",
  SHADOW_ALREADY_CONFIGURED: () => "`prismctl shadow mode` changes its mode; `prismctl shadow stop` ends it",
  SHADOW_PROMOTE_UNSAFE: () =>
    "fix what the message lists (`prismctl shadow status`, `prismctl shadow verify`), or pass --force",
  NODE_NOT_FOUND: () => "`prismctl graph get NAMESPACE ID` shows whether a node exists",
  EDGE_ENDPOINT_MISSING: () => "create both nodes first: prismctl graph upsert-node NAMESPACE ID LABEL",
  INVALID_DEPTH: () => "pass --depth N",
  TRAVERSAL_BUDGET_EXCEEDED: () => "ask for less: a smaller --depth, or --label filters",
  RATE_LIMITED: () => "the namespace's limits.rps was reached: slow down and retry",
  RESOURCE_EXHAUSTED: () => "a limit was reached: retry later, or ask for less",
  CAPABILITY_UNSUPPORTED: () => "`prismctl backend list` shows what each backend supports",
  NOT_IMPLEMENTED: () => "this gateway does not serve that call: it may be older than prismctl",
  UNIMPLEMENTED: () => "this gateway does not serve that call: it may be older than prismctl",
  INVALID_PAGE_TOKEN: () => "a page token or cursor works only with the request that returned it",
  EVENT_OUTSIDE_WINDOW: () =>
    "`prismctl namespace get NAMESPACE` shows its retention: pass a --time within it",
  VALUE_TOO_LARGE: () => "`prismctl namespace get NAMESPACE` shows its limits",
  METRICS_DISABLED: () => "the gateway runs without metrics: set metrics.enabled in its config",
  KEYRING_NOT_CONFIGURED: () => "the gateway's config needs pii.keyring (ADR-0017); then restart it",
  NAMESPACE_NOT_ENCRYPTED: () => "only KeyValue namespaces whose schema encrypts fields are re-encrypted",
  SCHEMA_UNAVAILABLE: () => "register the namespace's schema first: prismctl schema register FILE.binpb",
  INVALID_SCHEMA: () => "build the set with its imports: buf build -o FILE.binpb",
};

/** Kinds of prismctl's own PrismErrors (login, token cache) as gRPC status names. */
const STATUS_OF_KIND: Readonly<Record<string, string>> = { Conflict: "ABORTED", Cancelled: "CANCELLED" };

/**
 * The failure behind `error`.
 *
 * @example failureOf(grpcError) // { message: "namespace x does not exist", status: "NOT_FOUND", reason: "NAMESPACE_NOT_FOUND", … }
 */
export function failureOf(error: unknown): Failure {
  if (error instanceof PrismError) {
    const status =
      STATUS_OF_KIND[error.kind] ?? error.kind.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase();
    return { message: error.message, status, reason: error.reason, metadata: error.metadata, violations: [] };
  }
  const { code, details } = error as { code?: unknown; details?: unknown };
  if (typeof code === "number" && typeof details === "string") {
    const status = GrpcStatus[code] ?? `CODE_${code}`;
    const info = errorDetails(error);
    return {
      message: details,
      status,
      reason: info.reason ?? status,
      metadata: info.metadata,
      violations: info.fieldViolations,
    };
  }
  return { message: error instanceof Error ? error.message : String(error), metadata: {}, violations: [] };
}

/**
 * The exit code of a failure, from {@link EXIT_CODES}.
 *
 * @example exitCodeOf({ status: "PERMISSION_DENIED", … }) // 4
 */
export function exitCodeOf(failure: Failure): number {
  const row = EXIT_CODES.find((entry) =>
    (entry.statuses as readonly string[]).includes(failure.status ?? ""),
  );
  return row?.code ?? EXIT.ERROR;
}

/**
 * What `error:` and `hint:` lines say about a failure, and the exit code.
 *
 * @example describeFailure(error, { address }) // { lines: ["error: … (NAMESPACE_NOT_FOUND)", "hint: …"], code: 3 }
 */
export function describeFailure(error: unknown, scene: FailureScene): { lines: string[]; code: number } {
  const failure = failureOf(error);
  const lines = [`error: ${failure.message}${failure.reason ? ` (${failure.reason})` : ""}`];
  for (const { field, description } of failure.violations) {
    // A violation the message already states would only repeat it.
    if (!failure.message.includes(description)) lines.push(`  ${field}: ${description}`);
  }
  const hint = HINTS[failure.reason ?? ""] ?? HINTS[failure.status ?? ""];
  if (hint) lines.push(`hint: ${hint(failure, scene)}`);
  return { lines, code: exitCodeOf(failure) };
}
