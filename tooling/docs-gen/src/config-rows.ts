import { z } from "zod";

/** One key of a config schema, as the reference documents it. */
export interface ConfigRow {
  /** How the key is written: `listen.grpc`, `namespaces[].shadow.mode`, `backends.<name>.type`. */
  path: string;
  /** The description key: the path without list and map markers (`namespaces.shadow.mode`). */
  key: string;
  /** `string`, `integer`, `boolean`, `duration`, `object`, `list of string`, … */
  type: string;
  /** The default as YAML would spell it; undefined when the key has none. */
  defaultValue: string | undefined;
  /** The default in its unit, for byte and millisecond keys: `1 MiB`, `10 min`. */
  defaultReadable?: string;
  /** Must be given (no default, not optional) whenever its parent is. */
  required: boolean;
  /** Allowed values, ranges and formats, in words. */
  allowed: string;
  /** Set for a key of one variant of a discriminated union: `type: postgres`. */
  variant?: string;
}

// zod 4 keeps each schema's definition on `_zod.def`; this is the part of it we read.
interface Def {
  type: string;
  innerType?: Schema;
  defaultValue?: unknown;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
  options?: Schema[];
  discriminator?: string;
  values?: unknown[];
  checks?: { _zod: { def: CheckDef } }[];
}
interface CheckDef {
  check: string;
  format?: string;
  pattern?: RegExp;
  error?: (issue?: unknown) => unknown;
}
type Schema = z.ZodType & { _zod: { def: Def } };

const def = (schema: z.ZodType): Def => (schema as Schema)._zod.def;

/**
 * Every key of a zod object schema, depth first in declaration order: sections and nested objects
 * get a row of their own (type `object`), then their keys. Lists of objects are walked as
 * `name[].key`, maps as `name.<name>.key`; the variants of a union are walked one after the other,
 * a key they share (a discriminator) merged into one row.
 *
 * @example configRows(gatewayConfigSchema).find((row) => row.path === "listen.grpc")?.defaultValue // "127.0.0.1:8980"
 */
export function configRows(schema: z.ZodType): ConfigRow[] {
  const rows: ConfigRow[] = [];
  walkObject(schema, "", "", rows, undefined);
  return rows;
}

function walkObject(schema: z.ZodType, path: string, key: string, rows: ConfigRow[], variant?: string) {
  const shape = def(schema).shape ?? {};
  for (const [name, child] of Object.entries(shape)) {
    walk(child, path === "" ? name : `${path}.${name}`, key === "" ? name : `${key}.${name}`, rows, variant);
  }
}

function walk(schema: z.ZodType, path: string, key: string, rows: ConfigRow[], variant?: string): void {
  let inner = schema;
  let required = true;
  let defaultValue: unknown;
  let hasDefault = false;
  let prefault: unknown;
  for (;;) {
    const d = def(inner);
    if (d.type === "optional") required = false;
    else if (d.type === "default" || d.type === "prefault") {
      required = false;
      // A section's `prefault({})` only means "every key takes its own default".
      if (d.type === "default") {
        hasDefault = true;
        defaultValue = d.defaultValue;
      } else prefault = d.defaultValue;
    } else if (d.type !== "nullable" && d.type !== "readonly" && d.type !== "catch") break;
    inner = d.innerType!;
  }
  const d = def(inner);
  const row = (type: string, allowed = ""): ConfigRow => ({
    path,
    key,
    type,
    defaultValue: hasDefault ? yamlValue(defaultValue) : undefined,
    ...(hasDefault && typeof defaultValue === "number" && readable(defaultValue, key)),
    required,
    allowed,
    ...(variant && { variant }),
  });

  switch (d.type) {
    case "object":
      rows.push(row("object"));
      walkObject(inner, path, key, rows, variant);
      return;
    case "record":
      rows.push(row("map", `names: ${leafFacts(keySchema(inner), "").allowed}`));
      // The entries' keys follow the map's own row (`backends.<name>.type`).
      if (def(unwrap(d.valueType!)).type === "object")
        walkObject(unwrap(d.valueType!), `${path}.<name>`, key, rows, variant);
      else walk(d.valueType!, `${path}.<name>`, key, rows, variant);
      return;
    case "array": {
      const element = d.element!;
      if (def(unwrap(element)).type === "object") {
        rows.push(row("list of objects"));
        walkObject(unwrap(element), `${path}[]`, key, rows, variant);
        return;
      }
      const facts = leafFacts(inner, key);
      rows.push(row(facts.type, facts.allowed));
      return;
    }
    case "union": {
      const options = d.options ?? [];
      const discriminator = d.discriminator;
      if (options.every((option) => def(unwrap(option)).type === "object")) {
        if (discriminator) {
          rows.push(row("object", `by \`${discriminator}\``));
          const absent = (prefault as Record<string, unknown> | undefined)?.[discriminator];
          unionVariants(options, discriminator, path, key, rows, absent as string | undefined);
        } else {
          const forms = options.map(
            (option) => `{ ${Object.keys(def(unwrap(option)).shape ?? {}).join(", ")} }`,
          );
          rows.push(row("object", `one of ${forms.map((form) => `\`${form}\``).join(", ")}`));
          for (const option of options) walkObject(unwrap(option), path, key, rows, variant);
          dedupe(rows);
        }
        return;
      }
      // A union of scalars (`workers: 4 | auto`): each form's type and allowed values.
      const forms = options.map((option) => leafFacts(unwrap(option), key));
      rows.push(
        row(
          [...new Set(forms.map((form) => form.type))].join(" or "),
          forms
            .map((form) => form.allowed)
            .filter(Boolean)
            .join(", or "),
        ),
      );
      return;
    }
    default: {
      const facts = leafFacts(inner, key);
      rows.push(row(facts.type, facts.allowed));
    }
  }
}

/** The keys of a discriminated union: the discriminator once with every value, then each variant's own keys. */
function unionVariants(
  options: z.ZodType[],
  discriminator: string,
  path: string,
  key: string,
  rows: ConfigRow[],
  absent: string | undefined,
): void {
  const values = options.map((option) => {
    const tag = def(unwrap(option)).shape?.[discriminator];
    return tag ? (def(unwrap(tag)).values?.[0] as string) : "";
  });
  // An absent section is the union's prefault: `configStore` → `{ type: sqlite }`.
  rows.push({
    path: `${path}.${discriminator}`,
    key: `${key}.${discriminator}`,
    type: "string",
    defaultValue: absent,
    required: absent === undefined,
    allowed: values.map((value) => `\`${value}\``).join(", "),
  });
  options.forEach((option, i) => {
    const variantRows: ConfigRow[] = [];
    walkObject(unwrap(option), path, key, variantRows, `${discriminator}: ${values[i]}`);
    rows.push(...variantRows.filter((row) => row.path !== `${path}.${discriminator}`));
  });
}

/** Keeps the first row of each path (the variants of a plain union may share keys). */
function dedupe(rows: ConfigRow[]): void {
  const seen = new Set<string>();
  for (let i = 0; i < rows.length; i++) {
    const path = rows[i]!.path;
    if (seen.has(path)) rows.splice(i--, 1);
    seen.add(path);
  }
}

function unwrap(schema: z.ZodType): z.ZodType {
  let inner = schema;
  while (["optional", "default", "prefault", "nullable", "readonly", "catch"].includes(def(inner).type)) {
    inner = def(inner).innerType!;
  }
  return inner;
}

function keySchema(record: z.ZodType): z.ZodType {
  return (def(record) as Def & { keyType: Schema }).keyType;
}

interface JsonSchema {
  type?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  pattern?: string;
}

/** The type and the allowed values of a leaf, from its JSON Schema and its checks' own messages. */
function leafFacts(schema: z.ZodType, key: string): { type: string; allowed: string } {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  if (json.type === "array" && json.items) {
    const element = leafFacts(def(schema).element ?? schema, key);
    const bounds = range(json.minItems, json.maxItems, "", ["entry", "entries"]);
    return {
      type: `list of ${element.type}`,
      allowed: [element.allowed, bounds].filter(Boolean).join("; "),
    };
  }
  const messages = checkMessages(schema);
  if (messages.some((message) => message.startsWith("must be a duration"))) {
    return { type: "duration", allowed: "`30d`, `12h`, `15m`, `45s`, `500ms`" };
  }
  if (json.enum) return { type: "string", allowed: json.enum.map((value) => `\`${value}\``).join(", ") };
  if (json.const !== undefined) return { type: "string", allowed: `\`${json.const}\`` };
  const facts: string[] = [...messages];
  if (json.format === "uri") facts.push(urlProtocols(schema));
  if (json.pattern && messages.length === 0) facts.push(`matches \`${json.pattern}\``);
  if (json.type === "integer" || json.type === "number") facts.push(range(json.minimum, json.maximum, key));
  if (json.type === "string") {
    facts.push(
      json.minLength === 1 && json.maxLength === undefined
        ? "not empty"
        : range(json.minLength, json.maxLength, "", ["character", "characters"]),
    );
  }
  const type = json.format === "uri" ? "URL" : (json.type ?? "any");
  return { type, allowed: facts.filter(Boolean).join("; ") };
}

/** The messages a schema's own checks give when they fail (`must be host:port, e.g. …`). */
function checkMessages(schema: z.ZodType): string[] {
  const messages: string[] = [];
  for (const check of def(schema).checks ?? []) {
    const message = check._zod.def.error?.();
    if (typeof message === "string" && message !== "") messages.push(message);
  }
  return messages;
}

function urlProtocols(schema: z.ZodType): string {
  const protocol = (def(schema) as Def & { protocol?: RegExp }).protocol;
  if (!protocol) return "a URL";
  return protocol.source === "^https?$" ? "an http or https URL" : `a URL (${protocol.source})`;
}

/** `1 to 4,096`, `at least 1`, `64 KiB to 1 GiB` (the key's unit named where it has one). */
function range(
  min: number | undefined,
  max: number | undefined,
  key: string,
  noun?: readonly [one: string, many: string],
): string {
  // .int() bounds a number to the safe integers: no real limit.
  const low = min !== undefined && min > Number.MIN_SAFE_INTEGER ? min : undefined;
  const high = max !== undefined && max < Number.MAX_SAFE_INTEGER ? max : undefined;
  const n = (value: number) => humanized(value, key) ?? value.toLocaleString("en-US");
  const unit = (last: number) => (noun ? ` ${last === 1 ? noun[0] : noun[1]}` : "");
  if (low !== undefined && high !== undefined) return `${n(low)} to ${n(high)}${unit(high)}`;
  if (low !== undefined) return `at least ${n(low)}${unit(low)}`;
  if (high !== undefined) return `at most ${n(high)}${unit(high)}`;
  return "";
}

const BINARY = [
  [1 << 30, "GiB"],
  [1 << 20, "MiB"],
  [1 << 10, "KiB"],
] as const;
const TIME = [
  [86_400_000, "d"],
  [3_600_000, "h"],
  [60_000, "min"],
  [1000, "s"],
] as const;

/** A byte count or a duration in its unit (`16 MiB`, `10 min`) when the key names one and it is exact. */
function humanized(value: number, key: string): string | undefined {
  const units = /Bytes$|_bytes$/.test(key) ? BINARY : /Ms$/.test(key) ? TIME : undefined;
  if (!units || value === 0) return undefined;
  for (const [size, unit] of units) if (value >= size && value % size === 0) return `${value / size} ${unit}`;
  return undefined;
}

function readable(value: number, key: string): { defaultReadable?: string } {
  const text = humanized(value, key);
  return text ? { defaultReadable: text } : {};
}

/** A default as YAML spells it: `127.0.0.1:8980`, `30d`, `[RS256, PS256]`, `true`. */
function yamlValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(yamlValue).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    return entries.length === 0 ? "{}" : `{ ${entries.map(([k, v]) => `${k}: ${yamlValue(v)}`).join(", ")} }`;
  }
  return String(value);
}
