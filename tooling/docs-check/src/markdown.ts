import GithubSlugger from "github-slugger";
import type { Code, Heading, Nodes, Root } from "mdast";
import { fromMarkdown } from "mdast-util-from-markdown";
import { frontmatterFromMarkdown } from "mdast-util-frontmatter";
import { gfmFromMarkdown } from "mdast-util-gfm";
import { toString as textOf } from "mdast-util-to-string";
import { frontmatter } from "micromark-extension-frontmatter";
import { gfm } from "micromark-extension-gfm";
import { visit } from "unist-util-visit";
import type { FrontMatterBlock } from "./front-matter.js";
import type { Problem } from "./problem.js";

/** A link or link definition target, with the line it is on. */
export interface LinkRef {
  url: string;
  line: number;
}

/** What the checker needs from one parsed Markdown document. */
export interface ParsedDoc {
  frontMatter: FrontMatterBlock | undefined;
  /** Anchors a `#fragment` may name: GitHub heading slugs and explicit `id`/`name` attributes. */
  anchors: Set<string>;
  links: LinkRef[];
  /** Structure problems: unclosed fences, empty links, skipped heading levels. */
  problems: Problem[];
}

/** Parses Markdown (CommonMark + GFM, with a YAML front matter block) into a tree with positions. */
export function parseMarkdown(text: string): Root {
  return fromMarkdown(text, {
    extensions: [frontmatter(["yaml"]), gfm()],
    mdastExtensions: [frontmatterFromMarkdown(["yaml"]), gfmFromMarkdown()],
  });
}

const lineOf = (node: Nodes) => node.position?.start.line ?? 1;
const FENCE = /^[\s>]*(`{3,}|~{3,})/;

/**
 * A fenced code block whose closing fence is missing: CommonMark then runs the block to the end
 * of the document (or container), swallowing everything after it.
 */
function isUnclosedFence(node: Code, text: string): boolean {
  const start = node.position?.start.offset;
  const end = node.position?.end.offset;
  if (start === undefined || end === undefined) return false;
  const lines = text.slice(start, end).split("\n");
  const open = FENCE.exec(lines[0] ?? "")?.[1];
  if (!open) return false; // an indented code block has no fences
  const close = lines.length > 1 ? /^[\s>]*(`{3,}|~{3,})\s*$/.exec(lines.at(-1) ?? "")?.[1] : undefined;
  return !close || close[0] !== open[0] || close.length < open.length;
}

/**
 * Parses one document and checks its structure.
 *
 * @example parseDoc("docs-cms/adr/0001-x.md", "---\nid: adr-0001\n---\n## Context\n").anchors // {"context"}
 */
export function parseDoc(file: string, text: string): ParsedDoc {
  const tree = parseMarkdown(text);
  const problems: Problem[] = [];
  const anchors = new Set<string>();
  const links: LinkRef[] = [];
  const slugger = new GithubSlugger();
  let frontMatter: FrontMatterBlock | undefined;
  const first = tree.children[0];
  if (first?.type === "yaml") frontMatter = { yaml: first.value, firstLine: lineOf(first) + 1 };
  // The title in the front matter is the document's level-1 heading.
  let previousDepth = 1;

  visit(tree, (node) => {
    switch (node.type) {
      case "heading": {
        const heading = node as Heading;
        anchors.add(slugger.slug(textOf(heading)));
        if (heading.depth > previousDepth + 1) {
          problems.push({
            file,
            line: lineOf(heading),
            rule: "heading-skip",
            message: `heading level ${heading.depth} follows level ${previousDepth} (levels must not be skipped)`,
          });
        }
        previousDepth = heading.depth;
        break;
      }
      case "html":
        for (const match of node.value.matchAll(/\b(?:id|name)\s*=\s*["']([^"']+)["']/g))
          anchors.add(match[1]!);
        break;
      case "code":
        if (isUnclosedFence(node, text)) {
          problems.push({
            file,
            line: lineOf(node),
            rule: "unclosed-fence",
            message: "code fence is never closed (everything after it renders as code)",
          });
        }
        break;
      case "link":
        if (node.url.trim() === "") {
          problems.push({ file, line: lineOf(node), rule: "empty-link", message: "link has no target" });
        } else {
          links.push({ url: node.url, line: lineOf(node) });
        }
        if (textOf(node).trim() === "" && !node.children.some((child) => child.type === "image")) {
          problems.push({ file, line: lineOf(node), rule: "empty-link", message: "link has no text" });
        }
        break;
      case "definition":
        if (node.url.trim() === "") {
          problems.push({
            file,
            line: lineOf(node),
            rule: "empty-link",
            message: "link definition has no target",
          });
        } else {
          links.push({ url: node.url, line: lineOf(node) });
        }
        break;
    }
  });
  return { frontMatter, anchors, links, problems };
}
