export { checkDocs } from "./check-docs.js";
export { checkFrontMatter, type FrontMatter, FrontMatterSchema, STATUSES } from "./front-matter.js";
export { type ParsedDoc, parseDoc, parseMarkdown } from "./markdown.js";
export { formatProblem, type Problem, type Rule } from "./problem.js";
