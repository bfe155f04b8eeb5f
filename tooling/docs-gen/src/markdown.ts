/** A table cell: pipes escaped (also inside code spans, which GFM splits on them too), one line. */
export function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

/** A GFM table. */
export function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`),
  ].join("\n");
}

/**
 * `doc` with the text between `<!-- name:start -->` and `<!-- name:end -->` replaced by `body`
 * (the markers of `docs-cms/reference/error-reasons.md`, kept by `reasons.test.ts` the same way).
 *
 * @example replaceSection(doc, "metrics", renderMetrics(families))
 */
export function replaceSection(doc: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no ${start} … ${end} section`);
  return `${doc.slice(0, from + start.length)}\n${body}\n${doc.slice(to)}`;
}

/** The text between a section's markers, as {@link replaceSection} writes it. */
export function sectionOf(doc: string, name: string): string | undefined {
  const start = `<!-- ${name}:start -->\n`;
  const end = `\n<!-- ${name}:end -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  return from < 0 || to < from ? undefined : doc.slice(from + start.length, to);
}
