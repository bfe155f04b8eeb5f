import { resolve } from "node:path";
import type { DRIVERS } from "@prism/gateway";
import type { z } from "zod";
import { CONFIG_DESCRIPTIONS } from "./config-descriptions.js";
import { type ConfigRow, configRows } from "./config-rows.js";
import { table } from "./markdown.js";
import { schemaComments } from "./schema-comments.js";

/** Where the gateway config schema is declared (its JSDoc comments are the descriptions). */
export const CONFIG_SOURCE = "gateway/src/config/gateway-config.ts";
const CONFIG_EXPORT = "gatewayConfigSchema";
/** The namespace spec's keys, as they sit in the gateway config. */
const NAMESPACES = "namespaces";

type BackendDriver = (typeof DRIVERS)[number];

/** A config key with everything the reference says about it. */
export interface DescribedRow extends ConfigRow {
  description: string | undefined;
  /** Where the description comes from: the schema's JSDoc or {@link CONFIG_DESCRIPTIONS}. */
  source: "jsdoc" | "table" | undefined;
}

/**
 * Every key of the gateway config with its description: the JSDoc comment on the key in the
 * schema source, else the row of {@link CONFIG_DESCRIPTIONS}.
 *
 * @example describedRows(repo, gatewayConfigSchema).filter((row) => !row.description) // keys nobody documented
 */
export function describedRows(repo: string, schema: z.ZodType): DescribedRow[] {
  const comments = schemaComments(resolve(repo, CONFIG_SOURCE), CONFIG_EXPORT);
  return configRows(schema).map((row) => {
    const comment = comments.get(row.key);
    const listed = CONFIG_DESCRIPTIONS[row.key];
    return {
      ...row,
      description: comment ?? listed,
      source: comment ? "jsdoc" : listed ? "table" : undefined,
    };
  });
}

/**
 * The generated section of `configuration.md` for the gateway config: the top-level keys, then
 * one heading per section (`listen`, `auth`, …) with a table of its keys; `backends` adds the
 * backend types the gateway knows, with their options (asked of each driver's option check).
 */
export function renderGatewayConfig(rows: DescribedRow[], drivers: readonly BackendDriver[]): string {
  const topLevel = rows.filter((row) => !row.path.includes(".") && !row.path.includes("["));
  const sections = topLevel.filter((row) => row.type === "object" || row.type === "map");
  const scalars = topLevel.filter((row) => !sections.includes(row));
  const out: string[] = [];
  out.push("### Top-level keys", "", keyTable(scalars.map((row) => topLevelRow(row))));
  for (const section of sections) {
    out.push("", `### \`${section.path}\``, "");
    const presence = section.required
      ? "Required."
      : section.defaultValue === undefined && !hasDefaults(rows, section)
        ? "Optional."
        : "Optional; absent, every key below takes its default.";
    out.push(`${presence} ${section.description ?? ""}`.trim(), "");
    // A map's own row says what its entries may be named.
    const keys = rows.filter(
      (row) => row.path.startsWith(`${section.path}.`) || (row === section && row.type === "map"),
    );
    if (section.path === "backends") {
      out.push(keyTable(keys.map((row) => backendTypeRow(row, drivers))), "", backendTypes(drivers));
    } else {
      out.push(keyTable(keys));
    }
  }
  return out.join("\n");
}

/** The namespace spec's keys (`name`, `shadow.mode`, …), as `namespaces[]` entries and applied specs take them. */
export function renderNamespaceSpec(rows: DescribedRow[]): string {
  const prefix = `${NAMESPACES}[].`;
  const keys = rows
    .filter((row) => row.path.startsWith(prefix))
    .map((row) => ({ ...row, path: row.path.slice(prefix.length) }));
  return keyTable(keys);
}

function hasDefaults(rows: DescribedRow[], section: DescribedRow): boolean {
  return rows.some((row) => row.path.startsWith(`${section.path}.`) && row.defaultValue !== undefined);
}

function topLevelRow(row: DescribedRow): DescribedRow {
  if (row.path !== NAMESPACES) return row;
  return { ...row, type: "list of namespace specs", allowed: "see [Namespace spec](#namespace-spec)" };
}

function backendTypeRow(row: DescribedRow, drivers: readonly BackendDriver[]): DescribedRow {
  if (row.path !== "backends.<name>.type") return row;
  return { ...row, allowed: drivers.map((driver) => `\`${driver.type}\``).join(", ") };
}

function defaultText(row: DescribedRow): string {
  if (row.defaultValue === undefined) return row.required ? "required" : "—";
  return `\`${row.defaultValue}\`${row.defaultReadable ? ` (${row.defaultReadable})` : ""}`;
}

/** The description without a leading "`auth.oidc`: " (comments on shared schemas name their key). */
function ownWords(row: DescribedRow): string {
  const text = (row.description ?? "").replace(/^`[^`]+`: /, "");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function keyTable(rows: DescribedRow[]): string {
  return table(
    ["Key", "Type", "Default", "Allowed", "Description"],
    rows.map((row) => [
      `\`${row.path}\``,
      row.type,
      defaultText(row),
      row.allowed || "—",
      `${row.variant ? `With \`${row.variant}\`. ` : ""}${ownWords(row)}`,
    ]),
  );
}

/**
 * What each backend type serves and the options it takes, asked of the drivers' own option checks
 * (`validate`): an unknown option is answered with the known ones, an empty one with the required.
 */
export function backendTypes(drivers: readonly BackendDriver[]): string {
  const rows = drivers.map((driver) => {
    const probe = "\u0000probe";
    const known = driver
      .validate({ [probe]: 1 })
      .map((problem) => /unknown option \(known: ([^)]*)\)/.exec(problem)?.[1])
      .find((list) => list !== undefined);
    if (known === undefined)
      throw new Error(`backend type ${driver.type}: its validate() names no known options`);
    const required = new Set(
      driver
        .validate({})
        .map((problem) => /^([A-Za-z0-9_]+): required$/.exec(problem)?.[1])
        .filter((name) => name !== undefined),
    );
    const options = known
      .split(", ")
      .filter((name) => name !== "")
      .map((name) => `\`${name}\`${required.has(name) ? " (required)" : ""}`);
    return [`\`${driver.type}\``, driver.patterns.join(", "), options.join(", ") || "—"];
  });
  return table(["Type", "Patterns", "Options"], rows);
}
