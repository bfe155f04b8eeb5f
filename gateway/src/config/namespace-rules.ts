import type { BackendDriver } from "@prism/core";
import { z } from "zod";
import type { GatewayConfig } from "./gateway-config.js";
import { type NamespaceSpec, namespaceSpecSchema } from "./namespace-spec.js";

/** Request bytes allowed beyond a namespace's largest value (keys, ids, framing). */
export const REQUEST_OVERHEAD_BYTES = 1 << 20;

/**
 * The largest request message the gateway decodes: `listen.maxReceiveBytes`, or by default the
 * largest value any config namespace (or the keyvalue default) allows plus the overhead.
 */
export function receiveLimit(config: Pick<GatewayConfig, "listen" | "keyvalue" | "namespaces">): number {
  if (config.listen.maxReceiveBytes !== undefined) return config.listen.maxReceiveBytes;
  let largest = config.keyvalue.maxValueBytes;
  for (const spec of config.namespaces) largest = Math.max(largest, spec.limits?.max_value_bytes ?? 0);
  return largest + REQUEST_OVERHEAD_BYTES;
}

/**
 * Rules a namespace must satisfy against the running config (beyond its own schema): its
 * backends exist and serve its pattern, and its values fit in a request the gateway accepts.
 * Used for config-file and applied namespaces alike.
 */
export function namespaceProblems(
  spec: Pick<NamespaceSpec, "pattern" | "backend"> & {
    shadow?: { backend: string } | undefined;
    limits?: { max_value_bytes?: number | undefined } | undefined;
  },
  config: Pick<GatewayConfig, "backends"> &
    Partial<Pick<GatewayConfig, "listen" | "keyvalue" | "namespaces">>,
  drivers: readonly BackendDriver[],
): string[] {
  const problems: string[] = [];
  const maxValue = spec.limits?.max_value_bytes;
  if (maxValue !== undefined && config.listen && config.keyvalue && config.namespaces) {
    const receive = receiveLimit({
      listen: config.listen,
      keyvalue: config.keyvalue,
      namespaces: config.namespaces,
    });
    if (maxValue > receive - REQUEST_OVERHEAD_BYTES) {
      problems.push(
        `limits.max_value_bytes: ${maxValue} exceeds what the gateway accepts in one request (${receive - REQUEST_OVERHEAD_BYTES} bytes; raise listen.maxReceiveBytes)`,
      );
    }
  }
  const check = (field: string, backendName: string) => {
    const instance = config.backends[backendName];
    if (!instance) {
      const known = Object.keys(config.backends).join(", ");
      problems.push(`${field}: unknown backend ${backendName} (declared: ${known})`);
      return;
    }
    const driver = drivers.find((d) => d.type === instance.type);
    if (driver && !driver.patterns.includes(spec.pattern)) {
      problems.push(
        `${field}: backend ${backendName} (${instance.type}) does not serve the ${spec.pattern} pattern`,
      );
    }
  };
  check("backend", spec.backend);
  if (spec.shadow) {
    check("shadow.backend", spec.shadow.backend);
    if (spec.shadow.backend === spec.backend) problems.push("shadow.backend: must differ from backend");
  }
  return problems;
}

/** The parts of a namespace that {@link namespaceProblems} reads, from input that may be invalid elsewhere. */
const backendReferences = z.looseObject({
  pattern: namespaceSpecSchema.shape.pattern,
  backend: z.string().min(1),
  shadow: z
    .looseObject({ backend: z.string().min(1) })
    .optional()
    .catch(undefined),
});

/**
 * {@link namespaceProblems} for input that failed the namespace schema (a bad name, an unknown
 * field): its backend references are still checked, so one answer lists every problem.
 *
 * @example [...formatIssues(parsed.error), ...referenceProblems(input, config, drivers)]
 */
export function referenceProblems(
  input: unknown,
  config: Pick<GatewayConfig, "backends">,
  drivers: readonly BackendDriver[],
): string[] {
  const references = backendReferences.safeParse(input);
  return references.success ? namespaceProblems(references.data, config, drivers) : [];
}
