import type { BackendDriver } from "@prism/core";
import { z } from "zod";
import type { GatewayConfig } from "./gateway-config.js";
import { type NamespaceSpec, namespaceSpecSchema } from "./namespace-spec.js";

/**
 * Rules a namespace must satisfy against the running config (beyond its own schema): its
 * backends exist and serve its pattern. Used for config-file and applied namespaces alike.
 */
export function namespaceProblems(
  spec: Pick<NamespaceSpec, "pattern" | "backend"> & { shadow?: { backend: string } | undefined },
  config: Pick<GatewayConfig, "backends">,
  drivers: readonly BackendDriver[],
): string[] {
  const problems: string[] = [];
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
