import { z } from "zod";

/** Namespace names: DNS-label-like, so they are safe as bucket, topic and table-key names everywhere. */
export const NAMESPACE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

const principal = z
  .string()
  .regex(/^(user|group|service):[^\s]{1,200}$/, "must look like group:NAME or user:NAME");

/** `30d`, `12h`, `15m`, `45s` → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text);
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    match[2] as "ms" | "s" | "m" | "h" | "d"
  ];
  return Number(match[1]) * unit;
}

export const durationSchema = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, "must be a duration like 30d, 12h, 15m or 45s");

/**
 * A namespace as declared in YAML (DESIGN §4), in the gateway config or applied through
 * AdminService. Unknown fields are errors, so a typo never silently drops a setting.
 */
export const namespaceSpecSchema = z.strictObject({
  name: z.string().regex(NAMESPACE_NAME, "must be 1-63 characters of a-z, 0-9 and -, starting with a letter"),
  pattern: z.enum(["keyvalue", "timeseries", "graph"]),
  backend: z.string().min(1).max(100),
  schema: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.]{0,200}$/, "must be a fully qualified message name")
    .optional(),
  shadow: z
    .strictObject({
      backend: z.string().min(1).max(100),
      /** Every mode mirrors writes; `shadow-read` compares sampled reads; `read-shadow` answers them from the shadow. */
      mode: z.enum(["dual-write", "shadow-read", "read-shadow"]).default("dual-write"),
      sample_rate: z.number().min(0).max(1).default(1),
    })
    .optional(),
  access: z
    .strictObject({
      read: z.array(principal).max(100).default([]),
      write: z.array(principal).max(100).default([]),
      pii: z.array(principal).max(100).default([]),
    })
    .optional(),
  limits: z
    .strictObject({
      max_value_bytes: z
        .number()
        .int()
        .min(1)
        .max(1 << 30)
        .optional(),
      rps: z.number().int().min(1).max(10_000_000).optional(),
      /** Calls a second for each caller (auth on): one client cannot use the whole `rps`. */
      principal_rps: z.number().int().min(1).max(10_000_000).optional(),
      /** Calls of the namespace in progress at once on this gateway (tails not counted). */
      concurrency: z.number().int().min(1).max(1_000_000).optional(),
      /** Graph: edges one Traverse or ShortestPath may examine before it fails. */
      visit_budget: z.number().int().min(1).max(100_000_000).optional(),
    })
    .optional(),
  /**
   * Hedged point reads (KeyValue Get, TimeSeries Read, Graph GetNodes and Neighbors): a read not
   * answered after `after_ms` is sent again and the first answer wins. For namespaces whose tail
   * latency matters more than a little extra load on their backend.
   */
  hedge: z
    .strictObject({
      /** Wait before the second read: about the backend's p95 for this namespace. */
      after_ms: z.number().int().min(1).max(60_000),
      /** Second reads per read at most (0.1: 10% more reads); the rest wait for the first. */
      max_ratio: z.number().min(0.01).max(1).default(0.1),
    })
    .optional(),
  /** TimeSeries: events older than this are gone from reads at once and from storage eventually. */
  retention: durationSchema.optional(),
  /** TimeSeries: event times a Write accepts, relative to the gateway's clock. */
  accept_window: z
    .strictObject({
      past: durationSchema.optional(),
      future: durationSchema.optional(),
    })
    .optional(),
});

export type NamespaceSpec = z.infer<typeof namespaceSpecSchema>;

/** Formats zod issues as `path: message` lines, every one of them. */
export function formatIssues(error: z.ZodError, prefix = ""): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    return `${path || "(root)"}: ${issue.message}`;
  });
}
