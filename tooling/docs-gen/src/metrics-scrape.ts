import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DRIVERS, gatewayConfigSchema, loadConfig, startGateway } from "@prism/gateway";
import { createPromiseClient } from "@prism/proto/grpc";
import { AdminService, BackfillState } from "@prism/proto/prism/admin/v1/admin";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";

/** How long the shadow and backfill series may take to show up in a scrape. */
const SETTLE_MS = 15_000;

/** One metric family of a scrape: `# HELP`, `# TYPE`, and the label names its samples carry. */
export interface ScrapedFamily {
  name: string;
  type: string;
  help: string;
  /** Label names seen on its samples (without `le`), in first-seen order. */
  labels: string[];
  samples: number;
}

/**
 * Starts a gateway in this process (memory backends, loopback, free ports, a temporary data
 * directory), makes the calls that give every Prism metric family at least one series — writes
 * mirrored to a shadow, compared reads, a refused call, a rate-limited namespace, a hedged one, a backfill —
 * and returns its `GET /metrics` exposition, parsed. The gateway is the real one (`startGateway`),
 * so the families are exactly what a deployed gateway exposes.
 *
 * @example const families = await scrapeLiveGateway(); families.find((f) => f.name === "prism_backend_up")
 */
export async function scrapeLiveGateway(): Promise<ScrapedFamily[]> {
  const dir = mkdtempSync(join(tmpdir(), "prism-docs-gen-"));
  const file = join(dir, "gateway.yaml");
  const config = {
    listen: { grpc: "127.0.0.1:0" },
    metrics: { enabled: true, listen: "127.0.0.1:0" },
    // The admin web UI is not measured; keep it from binding its port.
    ...("admin" in gatewayConfigSchema.shape && { admin: { enabled: false } }),
    dataDir: dir,
    logLevel: "silent",
    shutdownGraceMs: 1000,
    shadow: { statsIntervalMs: 100 },
    backends: { primary: { type: "memory" }, target: { type: "memory" } },
    namespaces: [
      {
        name: "mirrored",
        pattern: "keyvalue",
        backend: "primary",
        shadow: { backend: "target", mode: "shadow-read" },
      },
      { name: "limited", pattern: "keyvalue", backend: "primary", limits: { rps: 1 } },
      { name: "hedged", pattern: "keyvalue", backend: "primary", hedge: { after_ms: 50 } },
    ],
  };
  writeFileSync(file, JSON.stringify(config)); // YAML is a superset of JSON
  const gateway = await startGateway({ config: loadConfig({ file, env: {} }, DRIVERS) });
  const target = { address: gateway.address };
  const kv = createPromiseClient(KeyValueService, target);
  const admin = createPromiseClient(AdminService, target);
  try {
    const value = new TextEncoder().encode("docs-gen");
    await kv.put({ namespace: "mirrored", id: "a", items: [{ key: new Uint8Array(), value }] });
    await kv.get({ namespace: "mirrored", id: "a" });
    await kv.get({ namespace: "absent", id: "a" }).catch(() => undefined);
    for (let i = 0; i < 5; i++) await kv.get({ namespace: "limited", id: "a" }).catch(() => undefined);
    const { job } = await admin.startBackfill({ namespace: "mirrored" });
    for (let state = job!.state; state === BackfillState.RUNNING; ) {
      await sleep(50);
      state = (await admin.getBackfill({ id: job!.id })).job!.state;
    }
    return await scrapeUntilEveryFamilyHasSeries(`http://${gateway.metricsAddress}/metrics`);
  } finally {
    kv.close();
    admin.close();
    await gateway.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Scrapes until every `prism_*` family has a series (shadow counters are published in the background). */
async function scrapeUntilEveryFamilyHasSeries(url: string): Promise<ScrapedFamily[]> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const families = parseExposition(await (await fetch(url)).text());
    const empty = families.filter((family) => family.name.startsWith("prism_") && family.samples === 0);
    if (empty.length === 0) return families;
    if (Date.now() > deadline) {
      throw new Error(
        `no series for ${empty.map((family) => family.name).join(", ")}: make a call that records them in tooling/docs-gen/src/metrics-scrape.ts`,
      );
    }
    await sleep(100);
  }
}

/**
 * The families of a Prometheus text exposition (format 0.0.4), in order.
 *
 * @example parseExposition("# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"1\"} 2\n")[0]!.labels // ["a"]
 */
export function parseExposition(text: string): ScrapedFamily[] {
  const families = new Map<string, ScrapedFamily>();
  const family = (name: string) => {
    let found = families.get(name);
    if (!found) {
      found = { name, type: "untyped", help: "", labels: [], samples: 0 };
      families.set(name, found);
    }
    return found;
  };
  for (const line of text.split("\n")) {
    const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment;
      if (kind === "HELP")
        family(name!).help = rest!.replace(/\\([\\n])/g, (_, c) => (c === "n" ? " " : "\\"));
      else family(name!).type = rest!;
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? \S+/.exec(line);
    if (!sample) continue;
    const name = sample[1]!;
    const owner =
      families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, "")) ?? family(name);
    owner.samples++;
    for (const match of (sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) {
      const label = match[1]!;
      if (label !== "le" && label !== "quantile" && !owner.labels.includes(label)) owner.labels.push(label);
    }
  }
  return [...families.values()];
}
