import { resolve } from "node:path";
import { checkDocs } from "./check-docs.js";
import { formatProblem } from "./problem.js";

/**
 * `pnpm docs:check [dir]`: checks docs-cms (or `dir`) and prints every problem as
 * `file:line: rule: message`. Exits 1 when there is any.
 */
const repo = resolve(import.meta.dirname, "../../..");
const root = resolve(process.argv[2] ?? resolve(repo, "docs-cms"));
const problems = checkDocs(root);
for (const problem of problems) process.stdout.write(`${formatProblem(problem)}\n`);
process.stdout.write(
  problems.length === 0 ? `docs-check: ${root} is clean\n` : `docs-check: ${problems.length} problem(s)\n`,
);
process.exit(problems.length === 0 ? 0 : 1);
