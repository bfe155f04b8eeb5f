import { collectDefaultMetrics, Registry } from "prom-client";
import { table } from "./markdown.js";
import type { ScrapedFamily } from "./metrics-scrape.js";

/** The reference's groups, in order: a family goes to the first whose test it passes. */
const GROUPS: readonly { title: string; test: (name: string) => boolean }[] = [
  { title: "Requests", test: (name) => /^prism_(request|rate_limited)/.test(name) },
  { title: "Backends", test: (name) => name.startsWith("prism_backend_") },
  { title: "Shadow traffic", test: (name) => name.startsWith("prism_shadow_") },
  { title: "Backfill", test: (name) => name.startsWith("prism_backfill_") },
  { title: "Other gateway metrics", test: (name) => name.startsWith("prism_") },
  { title: "Process (Node.js)", test: () => true },
];

/**
 * The label names prom-client declares for its default process metrics. A scrape shows a label
 * only on series that exist (no GC yet: no `kind`), so the reference takes these instead.
 */
function processLabelNames(): Map<string, string[]> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labels = new Map<string, string[]>();
  for (const metric of registry.getMetricsAsArray()) {
    const { name, labelNames } = metric as unknown as { name: string; labelNames?: string[] };
    labels.set(name, [...(labelNames ?? [])]);
  }
  return labels;
}

/**
 * The generated section of `metrics.md`: one table per group (name, type, labels, help), families
 * sorted by name. Prism families carry the labels their series carried in the scrape; process
 * families the ones prom-client declares.
 *
 * @example renderMetrics(await scrapeLiveGateway())
 */
export function renderMetrics(families: readonly ScrapedFamily[]): string {
  const declared = processLabelNames();
  const out: string[] = [];
  const placed = new Set<string>();
  for (const group of GROUPS) {
    const members = families
      .filter((family) => !placed.has(family.name) && group.test(family.name))
      .sort((a, b) => a.name.localeCompare(b.name));
    if (members.length === 0) continue;
    for (const family of members) placed.add(family.name);
    const rows = members.map((family) => {
      const labels = family.name.startsWith("prism_") ? family.labels : (declared.get(family.name) ?? []);
      return [
        `\`${family.name}\``,
        family.type,
        labels.length === 0 ? "—" : labels.map((label) => `\`${label}\``).join(", "),
        family.help,
      ];
    });
    out.push(`### ${group.title}`, "", table(["Metric", "Type", "Labels", "Help"], rows), "");
  }
  return out.join("\n").trimEnd();
}
