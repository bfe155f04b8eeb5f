/**
 * Test support for `reasons.test.ts` (not exported from @prism/core, so the package stays free of
 * runtime dependencies): finds every reason the source gives a PrismError, using the TypeScript
 * parser from the workspace root.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import type { ErrorKind } from "./errors.js";

/** One place in the source that gives a PrismError its reason. */
export interface ReasonUse {
  /** `path:line`, relative to the repository. */
  where: string;
  reason: string;
  /** The error's kind, when the source says it as a literal. */
  kind: ErrorKind | undefined;
}

/** One `unsupported(backend, capability)` call with a literal capability. */
export interface CapabilityUse {
  where: string;
  capability: string;
}

/** A function with a `reason` parameter that it passes to `new PrismError(kind, …, { reason })`. */
interface ReasonHelper {
  index: number;
  kind: ErrorKind | undefined;
  fallback: string | undefined;
}

/** Non-test TypeScript files below `dirs`, relative paths sorted. */
export function sourceFiles(repo: string, dirs: readonly string[]): string[] {
  return dirs
    .flatMap((dir) =>
      readdirSync(join(repo, dir), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts"))
        .map((entry) => relative(repo, join(entry.parentPath, entry.name))),
    )
    .sort();
}

const literal = (node: ts.Node | undefined): string | undefined =>
  node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;

function property(options: ts.Expression | undefined, name: string): ts.ObjectLiteralElementLike | undefined {
  if (!options || !ts.isObjectLiteralExpression(options)) return undefined;
  return options.properties.find((p) => p.name && ts.isIdentifier(p.name) && p.name.text === name);
}

function calleeName(node: ts.CallExpression | ts.NewExpression): string | undefined {
  const callee = node.expression;
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return undefined;
}

/**
 * Reads the source syntactically and lists every reason a PrismError is given: literal `reason`
 * options, the kind's default reason when none is given, and literal arguments to helpers that
 * take a `reason` parameter (e.g. `invalid(field, message, "ID_TOO_LONG")`). Also lists the
 * capability names passed to `unsupported`.
 *
 * @example scanReasons(repo, sourceFiles(repo, ["gateway/src"]), defaults).reasons[0] // { where, reason, kind }
 */
export function scanReasons(
  repo: string,
  files: readonly string[],
  defaultReason: (kind: ErrorKind) => string,
): { reasons: ReasonUse[]; capabilities: CapabilityUse[] } {
  const parsed = files.map((file) => {
    const text = readFileSync(join(repo, file), "utf8");
    return { file, source: ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true) };
  });
  const reasons: ReasonUse[] = [];
  const capabilities: CapabilityUse[] = [];
  const helpers = new Map<string, ReasonHelper>();

  // Pass 1: direct `new PrismError(…)` and helpers that forward a `reason` parameter.
  for (const { file, source } of parsed) {
    const where = (node: ts.Node) =>
      `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    const visit = (node: ts.Node, enclosing: ReasonHelper | undefined): void => {
      let helper = enclosing;
      if (ts.isFunctionLike(node)) {
        const index = node.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === "reason");
        const name =
          node.name && ts.isIdentifier(node.name)
            ? node.name.text
            : ts.isVariableDeclaration(node.parent) && ts.isIdentifier(node.parent.name)
              ? node.parent.name.text
              : undefined;
        if (index >= 0 && name) {
          helper = { index, kind: undefined, fallback: literal(node.parameters[index]!.initializer) };
          helpers.set(name, helper);
        }
      }
      if (ts.isNewExpression(node) && calleeName(node) === "PrismError") {
        const [kindArg, , options] = node.arguments ?? [];
        const kind = literal(kindArg) as ErrorKind | undefined;
        const reason = property(options, "reason");
        if (!reason && kind && (!options || ts.isObjectLiteralExpression(options))) {
          reasons.push({ where: where(node), reason: defaultReason(kind), kind });
        } else if (reason && ts.isPropertyAssignment(reason) && literal(reason.initializer)) {
          reasons.push({ where: where(reason), reason: literal(reason.initializer)!, kind });
        } else if (reason && helper) {
          helper.kind = kind;
        }
      } else if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === "reason") {
        const value = literal(node.initializer);
        const inError =
          ts.isObjectLiteralExpression(node.parent) &&
          ts.isNewExpression(node.parent.parent) &&
          calleeName(node.parent.parent) === "PrismError";
        if (value && !inError) reasons.push({ where: where(node), reason: value, kind: undefined });
      }
      if (ts.isCallExpression(node) && calleeName(node) === "unsupported") {
        const capability = literal(node.arguments[1]);
        if (capability !== undefined) capabilities.push({ where: where(node), capability });
      }
      ts.forEachChild(node, (child) => visit(child, helper));
    };
    visit(source, undefined);
  }
  // `unsupported` is such a helper too: its reason is fixed inside it.
  helpers.delete("unsupported");

  // Pass 2: literal reasons passed to those helpers.
  for (const { file, source } of parsed) {
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const helper = helpers.get(calleeName(node) ?? "");
        if (helper) {
          const reason = literal(node.arguments[helper.index]) ?? helper.fallback;
          const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
          if (reason !== undefined) reasons.push({ where: `${file}:${line}`, reason, kind: helper.kind });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { reasons, capabilities };
}
