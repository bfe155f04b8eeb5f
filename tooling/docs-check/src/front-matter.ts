import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import type { Problem } from "./problem.js";

/** Every status a document may have, whatever its folder. */
export const STATUSES = ["draft", "proposed", "accepted", "rejected", "deprecated", "superseded"] as const;

const isoDate = z
  .string({ error: "must be a date written YYYY-MM-DD" })
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date written YYYY-MM-DD")
  .refine(
    (value) => new Date(`${value}T00:00:00Z`).toISOString().startsWith(value),
    "is not a calendar date",
  );

/** The front matter every document in docs-cms carries. Unknown keys are refused (typos). */
export const FrontMatterSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, "must be lower-case words joined by '-'"),
    title: z.string().trim().min(1, "must not be empty"),
    status: z.enum(STATUSES),
    author: z.string().trim().min(1, "must not be empty"),
    created: isoDate,
    updated: isoDate,
    tags: z
      .array(z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, "must be lower-case words joined by '-'"))
      .min(1),
  })
  .refine((doc) => doc.updated >= doc.created, { path: ["updated"], message: "is before created" });

export type FrontMatter = z.infer<typeof FrontMatterSchema>;

/** Where the front matter's YAML sits: its text and the file line of its first line. */
export interface FrontMatterBlock {
  yaml: string;
  firstLine: number;
}

/** The parsed front matter (undefined when invalid) and what is wrong with it. */
export interface FrontMatterResult {
  data: FrontMatter | undefined;
  /** File line of each top-level key, for reporting problems found later (e.g. a duplicate id). */
  keyLines: Map<string, number>;
  problems: Problem[];
}

/**
 * Parses and validates one document's front matter.
 *
 * @example checkFrontMatter("docs-cms/adr/0001-x.md", { yaml: "id: adr-0001\n…", firstLine: 2 })
 */
export function checkFrontMatter(file: string, block: FrontMatterBlock | undefined): FrontMatterResult {
  const keyLines = new Map<string, number>();
  if (!block) {
    return {
      data: undefined,
      keyLines,
      problems: [
        { file, line: 1, rule: "front-matter", message: "no front matter (a leading --- YAML block)" },
      ],
    };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(block.yaml, { lineCounter, prettyErrors: false });
  const lineAt = (offset: number) => block.firstLine + lineCounter.linePos(offset).line - 1;
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => ({
      file,
      line: lineAt(error.pos[0]),
      rule: "front-matter" as const,
      message: `invalid YAML: ${error.message.split("\n")[0]}`,
    }));
    return { data: undefined, keyLines, problems };
  }
  if (isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      if (isScalar(pair.key) && pair.key.range)
        keyLines.set(String(pair.key.value), lineAt(pair.key.range[0]));
    }
  }
  const raw: unknown = doc.toJS();
  const present = (key: string) => typeof raw === "object" && raw !== null && key in raw;
  const parsed = FrontMatterSchema.safeParse(raw);
  if (parsed.success) return { data: parsed.data, keyLines, problems: [] };
  const problems = parsed.error.issues.map((issue) => {
    const key = issue.path.length > 0 ? String(issue.path[0]) : undefined;
    const unknown = issue.code === "unrecognized_keys" ? issue.keys : [];
    const name = key ?? unknown[0];
    const message =
      issue.code === "unrecognized_keys"
        ? `unknown key${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}`
        : `${issue.path.join(".") || "front matter"}: ${name && !present(name) ? "is required" : issue.message}`;
    return {
      file,
      line: (name ? keyLines.get(name) : undefined) ?? block.firstLine,
      rule: "schema" as const,
      message,
    };
  });
  return { data: undefined, keyLines, problems };
}
