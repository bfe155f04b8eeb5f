import { type ClientHttp2Session, connect } from "node:http2";
import { availableParallelism } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createPromiseClient, type PromiseClient } from "@prism/proto/grpc";
import {
  AdminService,
  type BackfillJob,
  BackfillState,
  type GetShadowStatusResponse,
  ShadowMode,
} from "@prism/proto/prism/admin/v1/admin";
import { PutRequestSchema } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { insertPostgres, postgresHolds, putThroughGateway } from "./bulk-load.js";
import type { ChildServer } from "./child.js";
import { type Dataset, recordId, recordValue } from "./dataset.js";
import { type GatewaySetup, startGatewayProcess } from "./gateway-process.js";
import { frame, h2Unary, kvHeaders } from "./h2-client.js";
import type { LoadOptions } from "./load.js";
import { type ClientKind, createLoadClient } from "./load-client.js";
import { measureRound, type Round, summarizeTarget, type Target } from "./measure.js";
import { preload, verify } from "./preload.js";
import {
  type BackfillResult,
  SHADOW_OPS,
  type ShadowCountersResult,
  type ShadowOp,
  type ShadowSettings,
  type ShadowVariantKey,
  type ShadowVariantResult,
} from "./shadow-report.js";

/** Everything `pnpm bench kv --shadow` can be asked for. */
export interface ShadowBenchOptions extends Dataset {
  /** `postgres`: PostgreSQL primary, NATS shadow (real servers); `memory`: two memory backends. */
  readonly backend: "postgres" | "memory";
  readonly durationS: number;
  readonly warmupS: number;
  readonly concurrency: number;
  readonly channels: number;
  readonly rounds: number;
  /** The Get load client; Puts always go over bare node:http2. */
  readonly client: ClientKind;
  readonly pgUrl: string;
  readonly pgPoolSize: number;
  readonly natsUrl: string;
  /** Records in the namespace the backfill copies. */
  readonly backfillRecords: number;
  /** Calls/s of an open loop (latency at a fixed offered rate) instead of the closed loop. */
  readonly rate?: number;
}

/**
 * The tiny run `--smoke` makes: PostgreSQL → NATS, 100 records, 1 s windows, a 500-record backfill.
 *
 * @example await runShadowBench(shadowSmokeOptions(pgUrl, natsUrl))
 */
export function shadowSmokeOptions(pgUrl: string, natsUrl: string): ShadowBenchOptions {
  return {
    backend: "postgres",
    records: 100,
    valueBytes: 100,
    durationS: 1,
    warmupS: 0.5,
    concurrency: 8,
    channels: 2,
    rounds: 1,
    client: "h2",
    pgUrl,
    pgPoolSize: 4,
    natsUrl,
    backfillRecords: 500,
  };
}

/** The namespace all three gateways serve (one name, so NATS keeps one stream across runs). */
const NAMESPACE = "bench-shadow";
/** What StartBackfill is allowed: far above what either side can do here, so it runs flat out. */
const BACKFILL_LIMITS = { records: 1_000_000, bytes: 2 ** 30 } as const;
/** How long to wait for a mirror queue to empty, or a backfill to end, before reporting as is. */
const DRAIN_TIMEOUT_MS = 60_000;

const VARIANTS: readonly { key: ShadowVariantKey; label: string; mode?: "dual-write" | "shadow-read" }[] = [
  { key: "off", label: "shadow off" },
  { key: "dual-write", label: "dual-write", mode: "dual-write" },
  { key: "shadow-read", label: "shadow-read, sample 1", mode: "shadow-read" },
];

type Admin = PromiseClient<typeof AdminService.method> & { close(): void };

/** The backend instances every gateway of the run has, and which is primary and which shadow. */
interface Backends {
  /** Instance names in the gateway config. */
  primary: string;
  shadow: string;
  /** Backend types, for the report. */
  types: { primary: string; shadow: string };
  setup: Pick<GatewaySetup, "backends" | "env">;
}

function backendsOf(options: ShadowBenchOptions): Backends {
  if (options.backend === "memory") {
    return {
      primary: "mem",
      shadow: "mem-shadow",
      types: { primary: "memory", shadow: "memory" },
      setup: { backends: { mem: { type: "memory" }, "mem-shadow": { type: "memory" } } },
    };
  }
  return {
    primary: "pg",
    shadow: "nats",
    types: { primary: "postgres", shadow: "nats" },
    setup: {
      backends: {
        pg: { type: "postgres", url: "env:PRISM_BENCH_PG_URL", poolSize: options.pgPoolSize },
        nats: { type: "nats", url: "env:PRISM_BENCH_NATS_URL" },
      },
      env: { PRISM_BENCH_PG_URL: options.pgUrl, PRISM_BENCH_NATS_URL: options.natsUrl },
    },
  };
}

/** Counters published every 200 ms, so GetShadowStatus soon sees the end of a window. */
const GATEWAY_CONFIG = { shadow: { statsIntervalMs: 200 } };

/**
 * Runs `pnpm bench kv --shadow`: three fresh gateways on the same primary (no shadow, dual-write,
 * shadow-read at sample rate 1), Put then Get closed loops on each, rounds alternating the order;
 * then a backfill of `backfillRecords` records into the shadow on a fourth gateway. Children are
 * always stopped before this returns or throws.
 *
 * @example const { settings, variants, backfill } = await runShadowBench(options)
 */
export async function runShadowBench(options: ShadowBenchOptions): Promise<{
  settings: ShadowSettings;
  variants: ShadowVariantResult[];
  backfill: BackfillResult;
}> {
  const variants = await measureVariants(options);
  const backfill = await measureBackfill(options);
  const { types } = backendsOf(options);
  return {
    settings: {
      ...types,
      records: options.records,
      valueBytes: options.valueBytes,
      concurrency: options.concurrency,
      channels: options.channels,
      rounds: options.rounds,
      client: options.client,
      durationS: options.durationS,
      warmupS: options.warmupS,
      cpus: availableParallelism(),
      ...(options.rate !== undefined && { rate: options.rate }),
    },
    variants,
    backfill,
  };
}

/** One variant's gateway, its clients and what its windows saw so far. */
interface Live {
  variant: (typeof VARIANTS)[number];
  admin: Admin;
  targets: Record<ShadowOp, Target>;
  rounds: Record<ShadowOp, Round[]>;
  drainMs: number;
}

async function measureVariants(options: ShadowBenchOptions): Promise<ShadowVariantResult[]> {
  const dataset: Dataset = { records: options.records, valueBytes: options.valueBytes };
  const { primary, shadow, setup } = backendsOf(options);
  const children: ChildServer[] = [];
  const closers: (() => void | Promise<void>)[] = [];
  try {
    const live: Live[] = [];
    for (const variant of VARIANTS) {
      const gateway = await startGatewayProcess({
        ...setup,
        namespaces: {
          [NAMESPACE]: {
            backend: primary,
            ...(variant.mode && { shadow: { backend: shadow, mode: variant.mode, sample_rate: 1 } }),
          },
        },
        config: GATEWAY_CONFIG,
      });
      children.push(gateway);
      const admin: Admin = createPromiseClient(AdminService, { address: gateway.address });
      closers.push(() => admin.close());
      // Through each gateway: a shadowed one mirrors the records, so compared Gets find them.
      await preload(gateway.address, NAMESPACE, dataset);
      const target = { address: gateway.address, channels: options.channels, namespace: NAMESPACE, dataset };
      const getter = createLoadClient(options.client, target);
      closers.push(() => getter.close());
      const putter = new PutLoadClient(target);
      closers.push(() => putter.close());
      const pid = gateway.pid;
      live.push({
        variant,
        admin,
        targets: {
          put: { label: variant.label, issue: (seq) => putter.put(seq), pid, close: () => putter.close() },
          get: { label: variant.label, issue: (seq) => getter.get(seq), pid, close: () => getter.close() },
        },
        rounds: { put: [], get: [] },
        drainMs: 0,
      });
      if (variant.mode) await drain(admin);
    }

    const load: LoadOptions = {
      concurrency: options.concurrency,
      warmupMs: options.warmupS * 1000,
      durationMs: options.durationS * 1000,
    };
    for (let r = 0; r < options.rounds; r++) {
      const order = r % 2 === 0 ? live : [...live].reverse();
      for (const op of SHADOW_OPS) {
        for (const g of order) {
          process.stderr.write(`shadow round ${r + 1}/${options.rounds}: ${op} ${g.variant.label}…\n`);
          g.rounds[op].push(await measureRound(g.targets[op], load, options.rate));
          // Mirrored writes still queued would load the machine during the next window.
          if (op === "put" && g.variant.mode) g.drainMs += (await drain(g.admin)).waitedMs;
        }
      }
    }
    const results: ShadowVariantResult[] = [];
    for (const g of live) {
      const summary = {
        key: g.variant.key,
        label: g.variant.label,
        put: summarizeTarget(g.targets.put, g.rounds.put),
        get: summarizeTarget(g.targets.get, g.rounds.get),
      };
      if (!g.variant.mode) {
        results.push(summary);
        continue;
      }
      // Let the last compared Gets finish, then read a publication made after them.
      await sleep(300);
      const { status } = await drain(g.admin);
      results.push({ ...summary, counters: countersOf(status), drainSeconds: g.drainMs / 1000 });
    }
    return results;
  } finally {
    await Promise.allSettled(closers.map((close) => close()));
    await Promise.allSettled(children.map((child) => child.stop()));
  }
}

/**
 * Waits until the gateway published counters after this call began with nothing queued (or
 * `DRAIN_TIMEOUT_MS` passed); returns that status and how long it took.
 */
async function drain(admin: Admin): Promise<{ status: GetShadowStatusResponse; waitedMs: number }> {
  const began = Date.now();
  for (;;) {
    const status = await admin.getShadowStatus({ namespace: NAMESPACE }, { timeoutMs: 10_000 });
    const fresh =
      status.gateways.length > 0 &&
      status.gateways.every((g) => g.updateTime !== undefined && timestampMs(g.updateTime) >= began);
    const waitedMs = Date.now() - began;
    if ((fresh && status.totals?.queueDepth === 0n) || waitedMs > DRAIN_TIMEOUT_MS) {
      return { status, waitedMs };
    }
    await sleep(100);
  }
}

function countersOf(status: GetShadowStatusResponse): ShadowCountersResult {
  const t = status.totals;
  return {
    writesOk: Number(t?.writesOk ?? 0n),
    writesFailed: Number(t?.writesFailed ?? 0n),
    writesDropped: Number(t?.writesDropped ?? 0n),
    readsMatched: Number(t?.readsMatched ?? 0n),
    readsMismatched: Number(t?.readsMismatched ?? 0n),
    readsSkipped: Number(t?.readsSkipped ?? 0n),
    queueDepth: Number(t?.queueDepth ?? 0n),
  };
}

/**
 * A namespace on the primary with `backfillRecords` records (PostgreSQL: bulk-inserted, or reused
 * when an earlier run left exactly them; memory: Put through the gateway), applied through
 * AdminService on a fresh gateway; StartShadow to the shadow backend, StartBackfill as fast as
 * allowed, GetBackfill every 100 ms until it ends.
 */
async function measureBackfill(options: ShadowBenchOptions): Promise<BackfillResult> {
  const dataset: Dataset = { records: options.backfillRecords, valueBytes: options.valueBytes };
  const namespace = `bench-shadow-backfill-n${dataset.records}`;
  const { primary, shadow, types, setup } = backendsOf(options);
  const log = (text: string) => process.stderr.write(`shadow backfill: ${text}\n`);
  const gateway = await startGatewayProcess({ ...setup, namespaces: {}, config: GATEWAY_CONFIG });
  const admin: Admin = createPromiseClient(AdminService, { address: gateway.address });
  try {
    const yaml = `name: ${namespace}\npattern: keyvalue\nbackend: ${primary}\n`;
    await admin.applyNamespace({ spec: { case: "yaml", value: yaml } });
    const loadStarted = performance.now();
    let how: BackfillResult["load"]["how"];
    if (options.backend === "memory") {
      how = "gateway Put";
      await putThroughGateway(gateway.address, namespace, dataset, {
        concurrency: 64,
        channels: options.channels,
      });
    } else if (await postgresHolds(options.pgUrl, namespace, dataset)) {
      how = "reused";
    } else {
      how = "bulk insert";
      await insertPostgres(options.pgUrl, namespace, dataset);
    }
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    await verify(gateway.address, namespace, dataset);
    log(
      `${dataset.records} records on ${primary} (${how}, ${loadSeconds.toFixed(1)} s); copying to ${shadow}…`,
    );

    await admin.startShadow({
      namespace,
      shadow: { backend: shadow, mode: ShadowMode.DUAL_WRITE, sampleRate: 1 },
    });
    let { job } = await admin.startBackfill({
      namespace,
      maxRecordsPerSecond: BACKFILL_LIMITS.records,
      maxBytesPerSecond: BigInt(BACKFILL_LIMITS.bytes),
    });
    const began = Date.now();
    let logged = began;
    while (job?.state === BackfillState.RUNNING && Date.now() - began < DRAIN_TIMEOUT_MS * 10) {
      await sleep(100);
      job = (await admin.getBackfill({ id: job.id }, { timeoutMs: 10_000 })).job;
      if (Date.now() - logged >= 2000) {
        logged = Date.now();
        log(`${job?.phase}: ${job?.recordsCopied} of ${job?.recordsTotal} copied`);
      }
    }
    return backfillResult(job!, dataset, { how, seconds: loadSeconds }, types);
  } finally {
    admin.close();
    await gateway.stop();
  }
}

function backfillResult(
  job: BackfillJob,
  dataset: Dataset,
  load: BackfillResult["load"],
  types: { primary: string; shadow: string },
): BackfillResult {
  const start = job.startTime ? timestampMs(job.startTime) : 0;
  const end = job.updateTime ? timestampMs(job.updateTime) : start;
  return {
    ...types,
    records: dataset.records,
    valueBytes: dataset.valueBytes,
    load,
    maxRecordsPerSecond: BACKFILL_LIMITS.records,
    maxBytesPerSecond: BACKFILL_LIMITS.bytes,
    // SUCCEEDED → "succeeded": a TypeScript enum maps values back to names.
    state: (BackfillState[job.state] ?? "unknown").toLowerCase(),
    ...(job.error && { error: job.error }),
    recordsCopied: Number(job.recordsCopied),
    bytesCopied: Number(job.bytesCopied),
    elapsedS: (end - start) / 1000,
    jobRecordsPerSecond: job.recordsPerSecond,
    jobBytesPerSecond: job.bytesPerSecond,
  };
}

const PUT_HEADERS = kvHeaders("Put");

/**
 * Unary `KeyValueService/Put` over bare node:http2, requests encoded up front: Put of record
 * `seq % records` (the dataset's own value, so Gets stay correct) on connection `seq % channels`.
 */
class PutLoadClient {
  private readonly sessions: ClientHttp2Session[];
  private readonly frames: Buffer[];

  constructor(target: { address: string; channels: number; namespace: string; dataset: Dataset }) {
    this.sessions = Array.from({ length: target.channels }, () => {
      const session = connect(`http://${target.address}`);
      session.on("error", () => undefined);
      return session;
    });
    this.frames = Array.from({ length: target.dataset.records }, (_, i) => {
      const items = [{ key: new Uint8Array(0), value: recordValue(i, target.dataset) }];
      const request = create(PutRequestSchema, { namespace: target.namespace, id: recordId(i), items });
      return frame(toBinary(PutRequestSchema, request));
    });
  }

  async put(seq: number): Promise<void> {
    const session = this.sessions[seq % this.sessions.length]!;
    const { status, message } = await h2Unary(session, PUT_HEADERS, this.frames[seq % this.frames.length]!);
    if (status !== "0") throw new Error(`${status ?? "no status"} ${message}`);
  }

  close(): void {
    for (const session of this.sessions) session.close();
  }
}
