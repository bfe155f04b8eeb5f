import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import ts from "typescript";

/** Calls whose first argument is an object literal of schema keys. */
const OBJECT_FACTORIES = new Set(["object", "strictObject", "looseObject"]);

/** A top-level `const` of a source file: its initializer and its own JSDoc. */
interface Declaration {
  file: string;
  initializer: ts.Expression;
  comment: string | undefined;
}

/**
 * The JSDoc comments of a zod schema's keys, read from its TypeScript source: the config schemas
 * document their keys with `/** … *\/` comments, which zod never sees at run time. Keys are dotted
 * paths without list or map markers (`auth.oidc.issuer`, `namespaces.shadow.mode`). Schemas
 * referenced by name (`auth: authConfigSchema`) are followed into their declarations, across
 * relative imports; a key without a comment of its own takes its referenced declaration's
 * (`oidc: oidcConfigSchema.optional()` → the comment on `oidcConfigSchema`).
 *
 * @example schemaComments("gateway/src/config/gateway-config.ts", "gatewayConfigSchema").get("dataDir")
 */
export function schemaComments(file: string, exportName: string): Map<string, string> {
  const reader = new SourceReader();
  const root = reader.declaration(resolve(file), exportName);
  if (!root) throw new Error(`${file}: no top-level const ${exportName}`);
  const comments = new Map<string, string>();
  reader.walkExpression(root.initializer, root.file, "", comments, new Set([`${root.file}#${exportName}`]));
  return comments;
}

class SourceReader {
  private readonly files = new Map<string, ts.SourceFile>();

  private source(file: string): ts.SourceFile {
    let source = this.files.get(file);
    if (!source) {
      source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
      this.files.set(file, source);
    }
    return source;
  }

  /** The top-level `const name = …` of `file`, or of the relative module it imports `name` from. */
  declaration(file: string, name: string): Declaration | undefined {
    const source = this.source(file);
    for (const statement of source.statements) {
      if (ts.isVariableStatement(statement)) {
        for (const declaration of statement.declarationList.declarations) {
          if (
            ts.isIdentifier(declaration.name) &&
            declaration.name.text === name &&
            declaration.initializer
          ) {
            return { file, initializer: declaration.initializer, comment: commentOf(statement) };
          }
        }
      }
      if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
        const from = statement.moduleSpecifier.text;
        const bindings = statement.importClause?.namedBindings;
        if (!from.startsWith(".") || !bindings || !ts.isNamedImports(bindings)) continue;
        const imported = bindings.elements.find((element) => element.name.text === name);
        if (imported) {
          const target = resolve(dirname(file), from.replace(/\.js$/, ".ts"));
          return this.declaration(target, (imported.propertyName ?? imported.name).text);
        }
      }
    }
    return undefined;
  }

  /** Finds the object literals of `expression` (and of the schemas it names) below `prefix`. */
  walkExpression(
    expression: ts.Node,
    file: string,
    prefix: string,
    out: Map<string, string>,
    seen: Set<string>,
  ): void {
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const callee = node.expression;
        const [first] = node.arguments;
        if (
          ts.isPropertyAccessExpression(callee) &&
          OBJECT_FACTORIES.has(callee.name.text) &&
          first &&
          ts.isObjectLiteralExpression(first)
        ) {
          this.walkObject(first, file, prefix, out, seen);
          return;
        }
      }
      if (ts.isPropertyAccessExpression(node)) {
        // `z.string`, `hostPort.default`: only the left side can name a schema.
        visit(node.expression);
        return;
      }
      if (ts.isIdentifier(node)) {
        const key = `${file}#${node.text}`;
        if (seen.has(key)) return;
        const declaration = this.declaration(file, node.text);
        if (!declaration) return;
        if (prefix !== "" && !out.has(prefix) && declaration.comment) out.set(prefix, declaration.comment);
        this.walkExpression(declaration.initializer, declaration.file, prefix, out, new Set([...seen, key]));
        return;
      }
      ts.forEachChild(node, visit);
    };
    visit(expression);
  }

  private walkObject(
    object: ts.ObjectLiteralExpression,
    file: string,
    prefix: string,
    out: Map<string, string>,
    seen: Set<string>,
  ): void {
    for (const property of object.properties) {
      if (!ts.isPropertyAssignment(property)) continue;
      const name =
        ts.isIdentifier(property.name) || ts.isStringLiteral(property.name) ? property.name.text : "";
      if (name === "") continue;
      const key = prefix === "" ? name : `${prefix}.${name}`;
      const comment = commentOf(property);
      if (comment && !out.has(key)) out.set(key, comment);
      this.walkExpression(property.initializer, file, key, out, seen);
    }
  }
}

/** The text of a node's JSDoc (tags such as `@example` left out), on one line. */
function commentOf(node: ts.Node): string | undefined {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const text = docs
    .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? "")
    .join(" ")
    .replace(/\{@link\s+([^}\s]+)\s*\}/g, "`$1`")
    .replace(/\s+/g, " ")
    .trim();
  return text === "" ? undefined : text;
}
