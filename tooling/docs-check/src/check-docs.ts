import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { checkFrontMatter } from "./front-matter.js";
import { type ParsedDoc, parseDoc } from "./markdown.js";
import type { Problem } from "./problem.js";

/** Every `.md` file below `dir`, sorted, so reports are stable. */
function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".md"))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i;

/**
 * Checks every document below `root` (docs-cms: adr/, rfcs/, memos/, reference/): front matter
 * schema, unique ids (ADRs: `adr-NNNN` from the file name), relative links and `#anchors`, and
 * Markdown structure. File names in problems are relative to `reportFrom`.
 *
 * @example checkDocs("docs-cms").map(formatProblem) // ["docs-cms/adr/0001-x.md:4: schema: status: …"]
 */
export function checkDocs(root: string, reportFrom = process.cwd()): Problem[] {
  const problems: Problem[] = [];
  const parsed = new Map<string, ParsedDoc>();
  const idOwner = new Map<string, string>();
  const name = (path: string) => relative(reportFrom, path).split(sep).join("/");

  for (const path of markdownFiles(resolve(root))) {
    const file = name(path);
    const doc = parseDoc(file, readFileSync(path, "utf8"));
    parsed.set(path, doc);
    problems.push(...doc.problems);
    const front = checkFrontMatter(file, doc.frontMatter);
    problems.push(...front.problems);
    const id = front.data?.id;
    if (!id) continue;
    const idLine = front.keyLines.get("id") ?? 1;
    const adrNumber = basename(dirname(path)) === "adr" ? /^(\d{4})-/.exec(basename(path))?.[1] : undefined;
    if (adrNumber && id !== `adr-${adrNumber}`) {
      problems.push({
        file,
        line: idLine,
        rule: "schema",
        message: `id: must be adr-${adrNumber} (the file's number)`,
      });
    }
    const owner = idOwner.get(id);
    if (owner) {
      problems.push({
        file,
        line: idLine,
        rule: "duplicate-id",
        message: `id ${id} is also the id of ${owner}`,
      });
    } else {
      idOwner.set(id, file);
    }
  }

  const anchorsOf = (path: string): Set<string> | undefined => {
    if (!parsed.has(path) && path.endsWith(".md") && existsSync(path)) {
      parsed.set(path, parseDoc(name(path), readFileSync(path, "utf8")));
    }
    return parsed.get(path)?.anchors;
  };
  for (const [path, doc] of parsed) {
    if (!path.startsWith(resolve(root))) continue; // parsed only as a link target
    for (const link of doc.links) {
      if (EXTERNAL.test(link.url) || link.url.startsWith("//")) continue;
      const [target = "", fragment] = link.url.split("#", 2);
      const targetPath = target === "" ? path : resolve(dirname(path), decodeURIComponent(target));
      const where = { file: name(path), line: link.line };
      if (target !== "" && !existsSync(targetPath)) {
        problems.push({
          ...where,
          rule: "broken-link",
          message: `${link.url}: ${name(targetPath)} does not exist`,
        });
        continue;
      }
      if (!fragment || statSync(targetPath).isDirectory()) continue;
      const anchors = anchorsOf(targetPath);
      if (anchors && !anchors.has(decodeURIComponent(fragment))) {
        problems.push({
          ...where,
          rule: "broken-anchor",
          message: `${link.url}: no heading #${fragment} there`,
        });
      }
    }
  }
  return problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}
