import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type Namespace,
  NamespaceSchema,
  NamespaceSource,
  ShadowMode,
} from "@prism/proto/prism/admin/v1/admin";
import { Pattern } from "@prism/proto/prism/options/v1/options";
import { stringify as stringifyYaml } from "yaml";
import { parseDuration } from "../config/namespace-spec.js";
import type { ResolvedNamespace } from "../registry/resolved-namespace.js";

export const PATTERN_OF = {
  keyvalue: Pattern.KEYVALUE,
  timeseries: Pattern.TIMESERIES,
  graph: Pattern.GRAPH,
} as const;
const PATTERN_NAME: Record<number, string> = {
  [Pattern.KEYVALUE]: "keyvalue",
  [Pattern.TIMESERIES]: "timeseries",
  [Pattern.GRAPH]: "graph",
};

/** A registry entry as the AdminService message. */
export function namespaceToMessage(namespace: ResolvedNamespace): Namespace {
  const { spec } = namespace;
  const retentionMs = spec.retention ? parseDuration(spec.retention) : undefined;
  return create(NamespaceSchema, {
    name: spec.name,
    pattern: PATTERN_OF[spec.pattern],
    backend: spec.backend,
    schema: spec.schema ?? "",
    ...(spec.shadow && {
      shadow: {
        backend: spec.shadow.backend,
        mode: SHADOW_MODES[spec.shadow.mode],
        sampleRate: spec.shadow.sample_rate,
      },
    }),
    ...(spec.access && { access: spec.access }),
    ...(spec.limits && {
      limits: { maxValueBytes: BigInt(spec.limits.max_value_bytes ?? 0), rps: spec.limits.rps ?? 0 },
    }),
    ...(retentionMs !== undefined && { retention: durationFromMs(retentionMs) }),
    version: BigInt(namespace.version),
    ...(namespace.updatedAt > 0 && { updateTime: timestampFromMs(namespace.updatedAt) }),
    source: namespace.source === "config" ? NamespaceSource.CONFIG : NamespaceSource.STORE,
    yaml: stringifyYaml(spec),
  });
}

/**
 * An AdminService Namespace message as the YAML-shaped spec the registry validates. Unset
 * message fields stay absent, so validation reports what is missing in YAML terms.
 */
export function namespaceFromMessage(message: Namespace): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    name: message.name,
    pattern: PATTERN_NAME[message.pattern] ?? "",
    backend: message.backend,
  };
  if (message.schema) spec.schema = message.schema;
  if (message.shadow) {
    spec.shadow = {
      backend: message.shadow.backend,
      mode: shadowModeName(message.shadow.mode),
      sample_rate: message.shadow.sampleRate,
    };
  }
  if (message.access) {
    spec.access = { read: message.access.read, write: message.access.write, pii: message.access.pii };
  }
  if (message.limits) {
    const limits: Record<string, number> = {};
    if (message.limits.maxValueBytes > 0n) limits.max_value_bytes = Number(message.limits.maxValueBytes);
    if (message.limits.rps > 0) limits.rps = message.limits.rps;
    spec.limits = limits;
  }
  if (message.retention) spec.retention = `${Math.round(durationMs(message.retention) / 1000)}s`;
  return spec;
}

/** The API's shadow modes by the YAML names. */
export const SHADOW_MODES = {
  "dual-write": ShadowMode.DUAL_WRITE,
  "shadow-read": ShadowMode.SHADOW_READ,
  "read-shadow": ShadowMode.READ_SHADOW,
} as const;

/** The YAML name of an API shadow mode; unspecified means dual-write. */
export function shadowModeName(mode: ShadowMode): "dual-write" | "shadow-read" | "read-shadow" {
  if (mode === ShadowMode.SHADOW_READ) return "shadow-read";
  if (mode === ShadowMode.READ_SHADOW) return "read-shadow";
  return "dual-write";
}
