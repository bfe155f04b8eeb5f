import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { configurationSections, metricsSections, rewrite } from "./generate.js";
import { scrapeLiveGateway } from "./metrics-scrape.js";

/**
 * `pnpm docs:gen`: rewrites the generated sections of the operator guide — the config reference
 * (`configuration.md`, from the zod schema and its JSDoc) and the metrics reference
 * (`metrics.md`, from a gateway started in this process). `docs-gen.test.ts` fails while they are
 * out of step; `UPDATE_DOCS=1 npx vitest run tooling/docs-gen` does the same as this.
 */
const repo = resolve(import.meta.dirname, "../../..");
for (const doc of [configurationSections(repo), metricsSections(await scrapeLiveGateway())]) {
  const { current, next } = rewrite(repo, doc);
  if (next === current) {
    process.stdout.write(`docs-gen: ${doc.path} is up to date\n`);
  } else {
    writeFileSync(resolve(repo, doc.path), next);
    process.stdout.write(`docs-gen: ${doc.path} rewritten\n`);
  }
}
