import { isMap, isScalar, isSeq, type Node, parseDocument } from "yaml";

export interface LineViolation {
  /** 1-based line of the YAML the problem points at. */
  line: number;
  field: string;
  description: string;
}

/**
 * Places each violation on a line of `text`: the line of its field's key (`limits.rps` → the
 * `rps:` line); a missing field falls back to its nearest present parent, else line 1. The field
 * `yaml` (a syntax error) goes to the parser's first error.
 */
export function violationLines(
  text: string,
  violations: readonly { field: string; description: string }[],
): LineViolation[] {
  const doc = parseDocument(text, { prettyErrors: false });
  return violations
    .map((violation) => ({
      field: violation.field,
      // The gateway's message may repeat the field ("yaml: …"): said once is enough.
      description: violation.description.startsWith(`${violation.field}: `)
        ? violation.description.slice(violation.field.length + 2)
        : violation.description,
      line: lineOfField(text, doc, violation),
    }))
    .sort((a, b) => a.line - b.line);
}

function lineOfField(
  text: string,
  doc: ReturnType<typeof parseDocument>,
  violation: { field: string; description: string },
): number {
  if (violation.field === "yaml") {
    const offset = doc.errors[0]?.pos[0];
    if (offset !== undefined) return lineAt(text, offset);
    const match = /at line (\d+)/.exec(violation.description);
    return match ? Number(match[1]) : 1;
  }
  if (!violation.field || violation.field === "(root)") return 1;
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const segment of violation.field.split(".")) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === segment);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(segment)) {
      const item = node.items[Number(segment)];
      if (!item) break;
      offset = (item as Node).range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset === undefined ? 1 : lineAt(text, offset);
}

/** 1-based line of a character offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Offset of the first character of a 1-based line. */
export function offsetOfLine(text: string, line: number): number {
  let offset = 0;
  for (let n = 1; n < line; n++) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return offset;
}
