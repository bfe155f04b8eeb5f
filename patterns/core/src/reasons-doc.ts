import { CAPABILITIES, REASONS } from "./reasons.js";

/**
 * The tables of `docs-cms/reference/error-reasons.md`, rendered from {@link REASONS} and
 * {@link CAPABILITIES}; the doc holds them between `<!-- reasons:start/end -->` and
 * `<!-- capabilities:start/end -->` markers, and `reasons.test.ts` compares.
 */
export function renderReasonTable(): string {
  const rows = Object.entries(REASONS).map(
    ([reason, { kind, meaning }]) => `| \`${reason}\` | ${kind} | ${meaning} |`,
  );
  return ["| Reason | Kind | Meaning |", "| --- | --- | --- |", ...rows].join("\n");
}

/** The capability table of the same doc. */
export function renderCapabilityTable(): string {
  const rows = Object.entries(CAPABILITIES).map(([name, meaning]) => `| \`${name}\` | ${meaning} |`);
  return ["| Capability | Meaning |", "| --- | --- |", ...rows].join("\n");
}

/** `doc` with the text between `<!-- name:start -->` and `<!-- name:end -->` replaced by `body`. */
export function replaceSection(doc: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no ${start} … ${end} section`);
  return `${doc.slice(0, from + start.length)}\n${body}\n${doc.slice(to)}`;
}
