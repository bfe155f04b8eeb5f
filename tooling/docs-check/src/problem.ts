/** The rules the checker applies; each problem names the one it broke. */
export type Rule =
  | "front-matter"
  | "schema"
  | "duplicate-id"
  | "broken-link"
  | "broken-anchor"
  | "empty-link"
  | "unclosed-fence"
  | "heading-skip";

/**
 * One thing wrong with one document, at a 1-based line.
 *
 * @example { file: "docs-cms/adr/0001-x.md", line: 3, rule: "schema", message: "status: …" }
 */
export interface Problem {
  file: string;
  line: number;
  rule: Rule;
  message: string;
}

/** `file:line: rule: message`, the form editors and terminals turn into links. */
export function formatProblem(problem: Problem): string {
  return `${problem.file}:${problem.line}: ${problem.rule}: ${problem.message}`;
}
