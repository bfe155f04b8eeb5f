import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { checkDocs } from "./check-docs.js";
import { formatProblem, type Rule } from "./problem.js";

const fixtures = resolve(import.meta.dirname, "../fixtures");
const check = (name: string) => checkDocs(resolve(fixtures, name), fixtures);

describe("checkDocs", () => {
  it("passes a well-formed tree: links, anchors, definitions, folders, external links, fences", () => {
    expect(check("good").map(formatProblem)).toEqual([]);
  });

  // Each fixture breaks one rule; the checker reports it at the right line and nothing else.
  const cases: [fixture: string, rule: Rule, line: number, message: RegExp][] = [
    ["no-front-matter", "front-matter", 1, /no front matter/],
    ["invalid-yaml", "front-matter", 3, /invalid YAML/],
    ["missing-field", "schema", 2, /author: is required/],
    ["unknown-key", "schema", 8, /unknown key date/],
    ["bad-status", "schema", 4, /status: /],
    ["bad-date", "schema", 6, /created: is not a calendar date/],
    ["updated-before-created", "schema", 7, /updated: is before created/],
    ["adr-id", "schema", 2, /must be adr-0003/],
    ["duplicate-id", "duplicate-id", 2, /id same is also the id of duplicate-id\/a\.md/],
    ["broken-link", "broken-link", 11, /missing\.md does not exist/],

    ["unclosed-fence", "unclosed-fence", 13, /never closed/],
    ["heading-skip", "heading-skip", 12, /level 4 follows level 2/],
  ];
  it.each(cases)("%s → %s at line %d", (fixture, rule, line, message) => {
    const problems = check(fixture);
    expect(problems, problems.map(formatProblem).join("\n")).toHaveLength(1);
    expect(problems[0]).toMatchObject({ rule, line });
    expect(problems[0]!.message).toMatch(message);
  });

  it("reports a missing anchor in the same file and in another file", () => {
    expect(check("broken-anchor").map(formatProblem)).toEqual([
      "broken-anchor/doc.md:12: broken-anchor: #absent: no heading #absent there",
      "broken-anchor/doc.md:12: broken-anchor: other.md#nope: no heading #nope there",
    ]);
  });

  it("reports a link with no text", () => {
    const problems = check("empty-link");
    expect(problems.map((p) => p.message)).toContain("link has no text");
  });
});
