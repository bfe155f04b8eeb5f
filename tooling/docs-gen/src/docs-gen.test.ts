import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { gatewayConfigSchema } from "@prism/gateway";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { CONFIG_DESCRIPTIONS } from "./config-descriptions.js";
import { CONFIG_SOURCE, describedRows } from "./config-doc.js";
import { configRows } from "./config-rows.js";
import {
  CONFIGURATION_DOC,
  configurationSections,
  type GeneratedDoc,
  metricsSections,
  rewrite,
} from "./generate.js";
import { sectionOf } from "./markdown.js";
import { parseExposition, type ScrapedFamily, scrapeLiveGateway } from "./metrics-scrape.js";
import { schemaComments } from "./schema-comments.js";

const repo = resolve(import.meta.dirname, "../../..");

/**
 * Checks `doc`'s committed sections against the code; `UPDATE_DOCS=1` rewrites them first (the
 * pattern of `patterns/core/src/reasons.test.ts`).
 */
function expectInStep(doc: GeneratedDoc): void {
  const { current, next } = rewrite(repo, doc);
  if (process.env.UPDATE_DOCS && next !== current) writeFileSync(resolve(repo, doc.path), next);
  const committed = process.env.UPDATE_DOCS ? next : current;
  for (const [name, body] of Object.entries(doc.sections)) {
    expect(
      sectionOf(committed, name),
      `${doc.path}, section ${name}: out of step with the code; run pnpm docs:gen (or UPDATE_DOCS=1 npx vitest run tooling/docs-gen)`,
    ).toBe(body);
  }
}

describe("the config reference", () => {
  const rows = describedRows(repo, gatewayConfigSchema);

  it("describes every key: a JSDoc comment in the schema, else a row of CONFIG_DESCRIPTIONS", () => {
    const undocumented = rows
      .filter((row) => row.description === undefined)
      .map(
        (row) =>
          `${row.path}: add a JSDoc comment in ${CONFIG_SOURCE} (or its imports), or a row in tooling/docs-gen/src/config-descriptions.ts`,
      );
    expect(undocumented).toEqual([]);
  });

  it("lists in CONFIG_DESCRIPTIONS only keys that exist and have no JSDoc comment", () => {
    const keys = new Set(rows.map((row) => row.key));
    const commented = new Set(rows.filter((row) => row.source === "jsdoc").map((row) => row.key));
    const stale = Object.keys(CONFIG_DESCRIPTIONS).flatMap((key) => {
      if (!keys.has(key)) return [`${key}: no such config key`];
      if (commented.has(key)) return [`${key}: the schema documents it now; remove its row`];
      return [];
    });
    expect(stale).toEqual([]);
  });

  it("reads JSDoc comments across the schema's imports", () => {
    const comments = schemaComments(resolve(repo, CONFIG_SOURCE), "gatewayConfigSchema");
    expect(comments.get("listen.maxReceiveBytes")).toMatch(/^Largest request message accepted/);
    expect(comments.get("auth.oidc.audience")).toMatch(/^The `aud` every token must include/); // auth-config.ts
    expect(comments.get("namespaces.retention")).toMatch(/^TimeSeries: events older than this/); // namespace-spec.ts
  });

  it("names every environment override of load-config.ts", () => {
    const source = readFileSync(resolve(repo, "gateway/src/config/load-config.ts"), "utf8");
    const doc = readFileSync(resolve(repo, CONFIGURATION_DOC), "utf8");
    const overrides = [...new Set([...source.matchAll(/env\.(PRISM_[A-Z_]+)/g)].map((match) => match[1]!))];
    expect(overrides.length).toBeGreaterThan(0);
    expect(overrides.filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
  });

  it("is in step with the schema", () => {
    expectInStep(configurationSections(repo));
  });
});

describe("the metrics reference", () => {
  let families: ScrapedFamily[];
  beforeAll(async () => {
    families = await scrapeLiveGateway();
  });

  it("is in step with a live gateway's registry", () => {
    expectInStep(metricsSections(families));
  });

  it("the operator guide's prose, alerts and runbooks name only metrics the gateway exports", () => {
    const names = new Set(
      families.flatMap((family) =>
        family.type === "histogram"
          ? [family.name, `${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`]
          : [family.name],
      ),
    );
    const guide = resolve(repo, "docs-cms/operator-guide");
    const unknown = readdirSync(guide, { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".md"))
      .flatMap((file) =>
        [...readFileSync(resolve(guide, file), "utf8").matchAll(/\b(?:prism|nodejs|process)_[a-z0-9_]+/g)]
          .map((match) => match[0])
          .filter((name) => !names.has(name))
          .map((name) => `${file}: ${name}`),
      );
    expect(unknown).toEqual([]);
  });
});

describe("configRows", () => {
  it("walks defaults, optional keys, sections, lists, maps and unions", () => {
    const schema = z.strictObject({
      port: z.number().int().min(1).max(65_535).default(8980),
      name: z.string().min(1).optional(),
      section: z
        .strictObject({
          size_bytes: z
            .number()
            .int()
            .default(1 << 20),
        })
        .prefault({}),
      items: z.array(z.strictObject({ id: z.string().regex(/^[a-z]+$/, "must be a-z") })).default([]),
      named: z.record(z.string().regex(/^[a-z]+$/, "a-z only"), z.looseObject({ type: z.string().min(1) })),
      store: z
        .discriminatedUnion("type", [
          z.strictObject({ type: z.literal("file"), path: z.string().default("x.db") }),
          z.strictObject({ type: z.literal("db"), url: z.url() }),
        ])
        .prefault({ type: "file" }),
    });
    const summary = configRows(schema).map((row) =>
      [
        row.path,
        row.type,
        row.defaultValue === undefined
          ? row.required
            ? "required"
            : "-"
          : `${row.defaultValue}${row.defaultReadable ? ` (${row.defaultReadable})` : ""}`,
        row.allowed,
        row.variant ?? "",
      ]
        .join(" | ")
        .trim(),
    );
    expect(summary).toEqual([
      "port | integer | 8980 | 1 to 65,535 |",
      "name | string | - | not empty |",
      "section | object | - |  |",
      "section.size_bytes | integer | 1048576 (1 MiB) |  |",
      "items | list of objects | [] |  |",
      "items[].id | string | required | must be a-z |",
      "named | map | required | names: a-z only |",
      "named.<name>.type | string | required | not empty |",
      "store | object | - | by `type` |",
      "store.type | string | file | `file`, `db` |",
      "store.path | string | x.db |  | type: file",
      "store.url | URL | required | a URL | type: db",
    ]);
  });
});

describe("parseExposition", () => {
  it("reads help, type and label names, folding histogram series into their family", () => {
    const text = [
      "# HELP a_seconds Latency.",
      "# TYPE a_seconds histogram",
      'a_seconds_bucket{ns="x",le="0.1"} 1',
      'a_seconds_sum{ns="x"} 0.05',
      'a_seconds_count{ns="x"} 1',
      "# HELP b_total Calls, with \\\\ and a \\n in help.",
      "# TYPE b_total counter",
      'b_total{code="OK",reason="a\\"b,c=d"} 2',
      "# HELP c Empty.",
      "# TYPE c gauge",
    ].join("\n");
    expect(parseExposition(text)).toEqual([
      { name: "a_seconds", type: "histogram", help: "Latency.", labels: ["ns"], samples: 3 },
      {
        name: "b_total",
        type: "counter",
        help: "Calls, with \\ and a   in help.",
        labels: ["code", "reason"],
        samples: 1,
      },
      { name: "c", type: "gauge", help: "Empty.", labels: [], samples: 0 },
    ]);
  });
});
