import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { Backend } from "./backend.js";
import { capabilityNames } from "./backend.js";
import { PrismError, unsupported } from "./errors.js";
import { CAPABILITIES, DEFAULT_REASON, REASONS, type Reason } from "./reasons.js";
import { renderCapabilityTable, renderReasonTable, replaceSection } from "./reasons-doc.js";
import { scanReasons, sourceFiles } from "./reasons-source.js";

const repo = resolve(import.meta.dirname, "../../..");
const docPath = resolve(repo, "docs-cms/reference/error-reasons.md");
const SOURCES = [
  "gateway/src",
  "patterns/core/src",
  "patterns/memory/src",
  "patterns/sqlite/src",
  "patterns/postgres/src",
  "patterns/nats/src",
];
const scan = scanReasons(repo, sourceFiles(repo, SOURCES), (kind) => DEFAULT_REASON[kind]);
const isReason = (name: string): name is Reason => Object.hasOwn(REASONS, name);

/** The first column (in backticks) of each row of a doc table section, with the row's cells. */
function tableRows(doc: string, section: string): Map<string, string[]> {
  const body = doc.split(`<!-- ${section}:start -->`)[1]?.split(`<!-- ${section}:end -->`)[0] ?? "";
  const rows = new Map<string, string[]>();
  for (const line of body.split("\n")) {
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim());
    const name = /^`([^`]+)`$/.exec(cells[0] ?? "")?.[1];
    if (name) rows.set(name, cells.slice(1));
  }
  return rows;
}

describe("error reasons are a contract", () => {
  it("finds the reasons in the source (the scan itself works)", () => {
    const found = new Set(scan.reasons.map((use) => use.reason));
    expect(found).toContain("NAMESPACE_NOT_FOUND"); // reason: "…" in gateway/src
    expect(found).toContain("ID_TOO_LONG"); // invalid(field, message, "ID_TOO_LONG")
    expect(found).toContain("CANCELLED"); // a kind's default
    expect(scan.capabilities.length).toBeGreaterThan(0);
  });

  it("the scan sees literal reasons, defaults, helpers' literals and capabilities, with their kinds", () => {
    const dir = mkdtempSync(join(tmpdir(), "reasons-"));
    mkdirSync(join(dir, "src"));
    writeFileSync(
      join(dir, "src/a.ts"),
      [
        'throw new PrismError("NotFound", "x", { reason: "NAMESPACE_NOT_FOUND" });',
        'throw new PrismError("Internal", "x");',
        'export function bad(field: string, reason = "INVALID_ARGUMENT") {',
        '  return new PrismError("InvalidArgument", field, { reason, field });',
        "}",
        'bad("id", "ID_TOO_LONG");',
        'throw unsupported("nats", "per-item ttl");',
      ].join("\n"),
    );
    writeFileSync(join(dir, "src/a.test.ts"), 'new PrismError("NotFound", "x", { reason: "IGNORED" });');
    const found = scanReasons(dir, sourceFiles(dir, ["src"]), (kind) => DEFAULT_REASON[kind]);
    expect(found.reasons).toEqual([
      { where: "src/a.ts:1", reason: "NAMESPACE_NOT_FOUND", kind: "NotFound" },
      { where: "src/a.ts:2", reason: "INTERNAL", kind: "Internal" },
      { where: "src/a.ts:6", reason: "ID_TOO_LONG", kind: "InvalidArgument" },
    ]);
    expect(found.capabilities).toEqual([{ where: "src/a.ts:7", capability: "per-item ttl" }]);
  });

  it("every reason thrown in the source is in the table, with the table's kind", () => {
    const wrong = scan.reasons.flatMap(({ where, reason, kind }) => {
      if (!isReason(reason)) return [`${where}: ${reason} is not in REASONS (patterns/core/src/reasons.ts)`];
      if (kind && REASONS[reason].kind !== kind) {
        return [`${where}: ${reason} is thrown as ${kind}, but REASONS says ${REASONS[reason].kind}`];
      }
      return [];
    });
    expect(wrong).toEqual([]);
  });

  it("every reason in the table is thrown somewhere (defaults: by a PrismError naming none)", () => {
    const used = new Set<string>([
      ...scan.reasons.map((use) => use.reason),
      ...Object.values(DEFAULT_REASON),
    ]);
    expect(Object.keys(REASONS).filter((reason) => !used.has(reason))).toEqual([]);
  });

  it("each kind's default reason has that kind", () => {
    for (const [kind, reason] of Object.entries(DEFAULT_REASON)) expect(REASONS[reason].kind).toBe(kind);
    expect(new PrismError("Unimplemented", "x").reason).toBe("NOT_IMPLEMENTED");
  });

  it("docs-cms/reference/error-reasons.md lists exactly the table's reasons and kinds", () => {
    let doc = readFileSync(docPath, "utf8");
    if (process.env.UPDATE_DOCS) {
      doc = replaceSection(doc, "reasons", renderReasonTable());
      doc = replaceSection(doc, "capabilities", renderCapabilityTable());
      writeFileSync(docPath, doc);
    }
    const documented = tableRows(doc, "reasons");
    const problems = [
      ...Object.keys(REASONS)
        .filter((reason) => !documented.has(reason))
        .map((reason) => `${reason}: in REASONS, not in the doc`),
      ...[...documented.keys()]
        .filter((reason) => !isReason(reason))
        .map((reason) => `${reason}: in the doc, not in REASONS`),
      ...[...documented]
        .filter(([reason, [kind]]) => isReason(reason) && REASONS[reason].kind !== kind)
        .map(
          ([reason, [kind]]) =>
            `${reason}: the doc says ${kind}, REASONS says ${isReason(reason) && REASONS[reason].kind}`,
        ),
    ];
    expect(problems).toEqual([]);
    // Meanings and order too; UPDATE_DOCS=1 rewrites the tables.
    expect(doc).toContain(renderReasonTable());
  });

  it("the doc lists exactly the capability names", () => {
    const doc = readFileSync(docPath, "utf8");
    expect([...tableRows(doc, "capabilities").keys()].sort()).toEqual(Object.keys(CAPABILITIES).sort());
    expect(doc).toContain(renderCapabilityTable());
  });
});

describe("a missing capability has one name everywhere", () => {
  it("the gateway and every backend pass unsupported() a name from CAPABILITIES", () => {
    const unknown = scan.capabilities
      .filter(({ capability }) => !Object.hasOwn(CAPABILITIES, capability))
      .map(({ where, capability }) => `${where}: "${capability}" is not in CAPABILITIES`);
    expect(unknown).toEqual([]);
  });

  it("ListBackends reports capabilities by the same names", () => {
    const everything = {
      keyvalue: { capabilities: { ttl: true, atomicMutate: true } },
      timeseries: { capabilities: { liveTail: true, nativeRetention: true } },
      graph: { capabilities: { nativeTraversal: true } },
    } as unknown as Backend;
    expect(capabilityNames(everything).sort()).toEqual(Object.keys(CAPABILITIES).sort());
  });

  it("unsupported() says which backend and capability", () => {
    const error = unsupported("nats", "keyvalue.ttl");
    expect(error).toMatchObject({ kind: "Unimplemented", reason: "CAPABILITY_UNSUPPORTED" });
    expect(error.metadata).toEqual({ backend: "nats", capability: "keyvalue.ttl" });
  });
});
