import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { insertPostgres, postgresHolds, putThroughBackend, putThroughGateway } from "./bulk-load.js";
import type { ChildServer } from "./child.js";
import { type Dataset, randomIndices } from "./dataset.js";
import { startGatewayProcess } from "./gateway-process.js";
import { mergeHistograms, summarize } from "./histogram.js";
import { runClosedLoop } from "./load.js";
import { createLoadClient } from "./load-client.js";
import { cpuPerThousand, runOpenLoop } from "./open-loop.js";
import { verify } from "./preload.js";
import { cpuSeconds, peakRssBytes } from "./proc-stats.js";
import type { RecordsResult, RecordsSettings } from "./records-report.js";

/** The backends `--records` can measure. */
export const RECORD_BACKENDS = ["memory", "sqlite", "postgres", "nats"] as const;
export type RecordBackend = (typeof RECORD_BACKENDS)[number];

/** Everything `pnpm bench kv --records N[,N…] --backend B` can be asked for. */
export interface RecordsBenchOptions extends Omit<RecordsSettings, "backend" | "cpus"> {
  readonly backend: RecordBackend;
  /** Namespace sizes, measured in this order. */
  readonly counts: readonly number[];
  /** Write the records again even when a persistent backend already holds them. */
  readonly reload: boolean;
  readonly pgUrl: string;
  readonly pgPoolSize: number;
  readonly natsUrl: string;
  /** Closed-loop warm-up before each measurement, ms (default 2000). */
  readonly primeMs?: number;
}

/** Closed-loop warm-up before each open-loop measurement, ms. */
const PRIME_MS = 2000;

/** Distinct random records each measurement reads (a sample: encoding a million requests is slow). */
const SAMPLE = 50_000;

/**
 * For each namespace size: starts a fresh gateway on the backend, fills namespace
 * `bench-kv-n<N>` with N one-item records (or reuses them on postgres and NATS when a previous run
 * left exactly those), checks a sample byte for byte, then measures `Get` of random records at a
 * fixed rate. The gateway is stopped after each size.
 *
 * @example const { settings, results } = await runRecordsBench({ backend: "postgres", counts: [1000, 100_000], … })
 */
export async function runRecordsBench(
  options: RecordsBenchOptions,
): Promise<{ settings: RecordsSettings; results: RecordsResult[] }> {
  const results: RecordsResult[] = [];
  for (const records of options.counts) results.push(await measureSize(options, records));
  return { settings: settingsOf(options), results };
}

async function measureSize(options: RecordsBenchOptions, records: number): Promise<RecordsResult> {
  const dataset: Dataset = { records, valueBytes: options.valueBytes };
  const namespace = `bench-kv-n${records}`;
  const log = (text: string) => process.stderr.write(`${options.backend} ${records} records: ${text}\n`);
  // A SQLite file of our own, filled before the gateway opens it; the other stores are shared.
  const sqliteDir =
    options.backend === "sqlite" ? mkdtempSync(join(tmpdir(), "prism-bench-sqlite-")) : undefined;
  const sqliteOptions = { path: join(sqliteDir ?? "", "records.db") };
  const backend = {
    memory: { type: "memory" },
    sqlite: { type: "sqlite", ...sqliteOptions },
    postgres: { type: "postgres", url: "env:PRISM_BENCH_PG_URL", poolSize: options.pgPoolSize },
    nats: { type: "nats", url: "env:PRISM_BENCH_NATS_URL" },
  }[options.backend];
  let gateway: ChildServer | undefined;
  let client: ReturnType<typeof createLoadClient> | undefined;
  try {
    const sample = randomIndices(records, Math.min(records, SAMPLE), records);
    const checked = sample.slice(0, 20);
    // SQLite: into our own file before the gateway opens it. The other stores: with the gateway up.
    const preSqlite =
      options.backend === "sqlite"
        ? await timed("backend put", log, async (progress) => {
            const { sqliteDriver } = await import("@prism/sqlite");
            await putThroughBackend(sqliteDriver, sqliteOptions, namespace, dataset, {
              concurrency: 1,
              onProgress: progress,
            });
          })
        : undefined;
    gateway = await startGatewayProcess({
      backends: { store: backend },
      namespaces: { [namespace]: "store" },
      env: { PRISM_BENCH_PG_URL: options.pgUrl, PRISM_BENCH_NATS_URL: options.natsUrl },
    });
    const address = gateway.address;
    const preload = preSqlite ?? (await loadShared(options, address, namespace, dataset, checked, log));
    await verify(address, namespace, dataset, checked);

    client = createLoadClient("h2", {
      address,
      channels: options.channels,
      namespace,
      dataset,
      indices: sample,
    });
    const load = client;
    // Closed loop first: a gateway that has served nothing yet (bulk-loaded stores) is cold, and at
    // a fixed rate a cold start builds a backlog that would spill into the measured window.
    log(
      `warming up (closed loop, ${(options.primeMs ?? PRIME_MS) / 1000} s), then Get of random records at ${options.rate}/s…`,
    );
    await runClosedLoop((seq) => load.get(seq), {
      concurrency: options.concurrency,
      warmupMs: 0,
      durationMs: options.primeMs ?? PRIME_MS,
    });
    const pid = gateway.pid;
    let cpuStart: number | undefined;
    let cpuEnd: number | undefined;
    const result = await runOpenLoop(
      (seq) => load.get(seq),
      {
        rate: options.rate,
        concurrency: options.concurrency,
        warmupMs: options.warmupS * 1000,
        durationMs: options.durationS * 1000,
      },
      {
        onMeasureStart: () => {
          cpuStart = cpuSeconds(pid);
        },
        onMeasureEnd: () => {
          cpuEnd = cpuSeconds(pid);
        },
      },
    );
    const rss = peakRssBytes(pid);
    const cpu = cpuStart === undefined || cpuEnd === undefined ? undefined : cpuEnd - cpuStart;
    return {
      records,
      preload,
      latency: summarize(mergeHistograms([result.histogram])),
      ...(cpu === undefined
        ? {}
        : { cpuPerThousand: cpuPerThousand(cpu, result.elapsedMs / 1000, options.rate) }),
      ...(rss === undefined ? {} : { peakRssBytes: rss }),
      unfinished: result.unfinished,
      failures: Object.fromEntries(result.errors),
    };
  } finally {
    client?.close();
    await gateway?.stop();
    if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
  }
}

type Preload = RecordsResult["preload"];
type Progress = (written: number) => void;

/** Runs a load, logging progress, and says how long it took. */
async function timed(
  how: Preload["how"],
  log: (text: string) => void,
  load: (progress: Progress) => Promise<void>,
): Promise<Preload> {
  const started = performance.now();
  await load((written) => {
    const perSecond = Math.round(written / ((performance.now() - started) / 1000));
    log(`${written.toLocaleString("en-US")} written (${perSecond.toLocaleString("en-US")}/s)`);
  });
  return { how, seconds: (performance.now() - started) / 1000 };
}

/**
 * Fills the namespace in the gateway's store: postgres by bulk insert, NATS through its package,
 * memory through the gateway — or reuses what an earlier run left in postgres or NATS.
 */
async function loadShared(
  options: RecordsBenchOptions,
  address: string,
  namespace: string,
  dataset: Dataset,
  checked: readonly number[],
  log: (text: string) => void,
): Promise<Preload> {
  const started = performance.now();
  if (!options.reload && (await alreadyLoaded(options, address, namespace, dataset, checked))) {
    log("reusing the records an earlier run wrote (--reload writes them again)");
    return { how: "reused", seconds: (performance.now() - started) / 1000 };
  }
  if (options.backend === "postgres") {
    return timed("bulk insert", log, (progress) =>
      insertPostgres(options.pgUrl, namespace, dataset, (n) => {
        if (n % 100_000 === 0 || n === dataset.records) progress(n);
      }),
    );
  }
  if (options.backend === "nats") {
    return timed("backend put", log, async (progress) => {
      const { natsDriver } = await import("@prism/nats");
      await putThroughBackend(natsDriver, { url: options.natsUrl }, namespace, dataset, {
        concurrency: 64,
        onProgress: progress,
      });
    });
  }
  return timed("gateway Put", log, (progress) =>
    putThroughGateway(address, namespace, dataset, {
      concurrency: 64,
      channels: options.channels,
      onProgress: progress,
    }),
  );
}

/** True when a persistent backend already holds exactly this dataset in `namespace`. */
async function alreadyLoaded(
  options: RecordsBenchOptions,
  address: string,
  namespace: string,
  dataset: Dataset,
  sample: readonly number[],
): Promise<boolean> {
  if (options.backend === "postgres") return postgresHolds(options.pgUrl, namespace, dataset);
  if (options.backend !== "nats") return false; // memory and the temp sqlite file start empty
  try {
    await verify(address, namespace, dataset, sample);
    return true;
  } catch {
    return false;
  }
}

function settingsOf(options: RecordsBenchOptions): RecordsSettings {
  return {
    backend: options.backend,
    valueBytes: options.valueBytes,
    rate: options.rate,
    concurrency: options.concurrency,
    channels: options.channels,
    durationS: options.durationS,
    warmupS: options.warmupS,
    cpus: availableParallelism(),
  };
}
