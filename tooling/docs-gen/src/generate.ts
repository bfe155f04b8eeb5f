import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { DRIVERS, gatewayConfigSchema } from "@prism/gateway";
import { describedRows, renderGatewayConfig, renderNamespaceSpec } from "./config-doc.js";
import { replaceSection } from "./markdown.js";
import { renderMetrics } from "./metrics-doc.js";
import type { ScrapedFamily } from "./metrics-scrape.js";

/** The operator guide's documents with generated sections, relative to the repo. */
export const CONFIGURATION_DOC = "docs-cms/operator-guide/configuration.md";
export const METRICS_DOC = "docs-cms/operator-guide/metrics.md";

/** One document's generated sections, rendered from the code as it is now. */
export interface GeneratedDoc {
  path: string;
  /** Section name (between `<!-- name:start -->` and `<!-- name:end -->`) → its body. */
  sections: Record<string, string>;
}

/** The config reference's sections: the gateway config schema and the namespace spec. */
export function configurationSections(repo: string): GeneratedDoc {
  const rows = describedRows(repo, gatewayConfigSchema);
  return {
    path: CONFIGURATION_DOC,
    sections: {
      "gateway-config": renderGatewayConfig(rows, DRIVERS),
      "namespace-spec": renderNamespaceSpec(rows),
    },
  };
}

/**
 * The metrics reference's section, from a live gateway's registry.
 *
 * @example metricsSections(await scrapeLiveGateway())
 */
export function metricsSections(families: readonly ScrapedFamily[]): GeneratedDoc {
  return { path: METRICS_DOC, sections: { metrics: renderMetrics(families) } };
}

/**
 * `doc`'s text as committed, and as it would be with its sections rendered anew.
 *
 * @example const { current, next } = rewrite(repo, configurationSections(repo)); if (current !== next) …
 */
export function rewrite(repo: string, doc: GeneratedDoc): { current: string; next: string } {
  const current = readFileSync(resolve(repo, doc.path), "utf8");
  let next = current;
  for (const [name, body] of Object.entries(doc.sections)) next = replaceSection(next, name, body);
  return { current, next };
}
