import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";

/** One rendered Kubernetes object and the file it came from. */
export interface RenderedObject {
  file: string;
  object: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } & Record<
    string,
    unknown
  >;
}

/** The kustomization fields this renderer reproduces; any other field fails the render. */
const SUPPORTED = new Set(["apiVersion", "kind", "namespace", "resources"]);
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
]);

/**
 * Renders a kustomization the way `kustomize build` does for the subset our base uses: the
 * listed resource files in order, every YAML document in them, and `namespace` set on each
 * namespaced object. No kustomize binary is needed, so CI renders offline; a field outside the
 * subset (patches, generators, …) throws instead of being silently ignored.
 *
 * @example const objects = renderKustomization("deploy/kubernetes/base/kustomization.yaml")
 */
export function renderKustomization(file: string): RenderedObject[] {
  const kustomization = parseAllDocuments(readFileSync(file, "utf8"))[0]?.toJS() as Record<string, unknown>;
  if (kustomization.kind !== "Kustomization") throw new Error(`${file}: not a Kustomization`);
  const unsupported = Object.keys(kustomization).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0)
    throw new Error(`${file}: fields this renderer does not reproduce: ${unsupported.join(", ")}`);
  const namespace = kustomization.namespace as string | undefined;
  const rendered: RenderedObject[] = [];
  for (const resource of kustomization.resources as string[]) {
    const path = join(dirname(file), resource);
    for (const document of parseAllDocuments(readFileSync(path, "utf8"))) {
      if (document.errors.length > 0) throw new Error(`${path}: ${document.errors[0]!.message}`);
      const object = document.toJS() as RenderedObject["object"] | null;
      if (object === null) continue;
      if (namespace && !CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = namespace;
      rendered.push({ file: path, object });
    }
  }
  return rendered;
}
