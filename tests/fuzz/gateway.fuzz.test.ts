import { writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { DescService } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { Health } from "@prism/proto/grpc/health/v1/health";
import * as reflectionV1 from "@prism/proto/grpc/reflection/v1/reflection";
import * as reflectionV1alpha from "@prism/proto/grpc/reflection/v1alpha/reflection";
import { AdminService } from "@prism/proto/prism/admin/v1/admin";
import { GraphService } from "@prism/proto/prism/graph/v1/graph";
import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";
import { TimeSeriesService } from "@prism/proto/prism/timeseries/v1/timeseries";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, removeDataDir, startGatewayProcess } from "../support/gateway-process.js";
import { collectGarbage, INSPECTOR_ENV } from "../support/remote-gc.js";
import { type FuzzCase, fuzzCases, type InputKind } from "./fuzz-cases.js";
import { type GatewayMemory, gatewayMemory, probeHealth } from "./gateway-watch.js";
import type { MessagePools } from "./message-arbitrary.js";
import { callRaw, methodsOf, pathOf, rawClient } from "./raw-calls.js";

/**
 * Bad input at scale (issue 13, item 4): ≥ 10,000 malformed, truncated, oversized and random
 * protobuf requests with random metadata, spread over every method of every service the gateway
 * serves (enumerated from the generated descriptors: a new RPC is fuzzed with no change here),
 * against one gateway process with memory and SQLite namespaces of all three patterns. No call
 * may end UNKNOWN, INTERNAL or DATA_LOSS, the process must stay up and answer health throughout,
 * and its RSS must come back near its warmed-up baseline.
 *
 * Reproduce a run with `FUZZ_SEED=<printed seed> npx vitest run tests/fuzz`; `FUZZ_RUNS` sets
 * the number of calls.
 */

const SERVICES: readonly DescService[] = [
  KeyValueService,
  TimeSeriesService,
  GraphService,
  AdminService,
  Health,
  reflectionV1.ServerReflection,
  reflectionV1alpha.ServerReflection,
];
/** `FUZZ_METHODS=<regex>` narrows a replay to matching paths (e.g. `KeyValueService/Get$`). */
const FILTER = process.env.FUZZ_METHODS ? new RegExp(process.env.FUZZ_METHODS) : undefined;
const METHODS = methodsOf(SERVICES).filter((m) => !FILTER || FILTER.test(pathOf(m)));

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const WARM_UP_RUNS = 600;
const IN_FLIGHT = 16;
const BATCH = 500;
const RECEIVE_LIMIT = 2 << 20;

/** Codes that mean the gateway failed rather than refused. */
const FORBIDDEN: ReadonlySet<status> = new Set([status.UNKNOWN, status.INTERNAL, status.DATA_LOSS]);

/**
 * Memory after the run, once a full GC (through the gateway's inspector, tests only) has freed
 * what is garbage: back to the warmed-up baseline within these margins. Without the forced GC a
 * run leaves ~130 MiB more RSS — request buffers V8 had no reason to collect yet, not a leak:
 * they go with the first full collection (measured: RSS +5 MiB, external +0.1 MiB, heap +4 MiB).
 */
const RSS_SLACK_BYTES = 48 << 20;
const HEAP_SLACK_BYTES = 24 << 20;
const EXTERNAL_SLACK_BYTES = 16 << 20;

const NAMESPACES = ["keyvalue", "timeseries", "graph"].flatMap((pattern) =>
  ["mem", "local"].map((backend) => ({ name: `fz-${pattern}-${backend}`, pattern, backend })),
);

const POOLS: MessagePools = {
  namespaces: [...NAMESPACES.map((ns) => ns.name), "missing-ns", ""],
  ids: ["a", "b", "n1", "n2", "n3", "series-1", "u-1", ""],
  names: [
    "mem",
    "local",
    "knows",
    "person",
    "",
    ...SERVICES.map((s) => s.typeName),
    ...SERVICES.map((s) => `${s.file.proto.name}`),
    "prism.keyvalue.v1.GetRequest",
    "google/protobuf/timestamp.proto",
  ],
};

let gateway: GatewayProcess;

beforeAll(async () => {
  gateway = await startGatewayProcess(
    {
      listen: { grpc: "127.0.0.1:0", maxReceiveBytes: RECEIVE_LIMIT },
      keyvalue: { maxValueBytes: 1 << 20 },
      backends: { mem: { type: "memory" }, local: { type: "sqlite", path: "fuzz.db" } },
      namespaces: NAMESPACES,
    },
    { env: INSPECTOR_ENV },
  );
}, 60_000);

afterAll(async () => {
  // `FUZZ_LOG=<file>` keeps the gateway's log of the run.
  if (process.env.FUZZ_LOG && gateway) writeFileSync(process.env.FUZZ_LOG, gateway.output());
  await gateway?.stop();
  if (gateway) removeDataDir(gateway.dataDir);
});

/** A call that ended with a forbidden code. */
interface Offender {
  path: string;
  kind: InputKind;
  code: string;
  details: string;
  hex: string;
  metadata: string;
}

/** Tallies over a run. */
class Tally {
  calls = 0;
  notSent = 0;
  readonly codes = new Map<string, number>();
  readonly offenders: Offender[] = [];
  readonly oversizedCodes = new Map<string, number>();
  readonly methodsCalled = new Set<string>();
  /** Calls per code and details text (what each code meant in this run). */
  readonly reasons = new Map<string, number>();

  private count(code: string, fuzz: FuzzCase): void {
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    // (A bidi stream may end on an earlier message of the case before its oversized one is read.)
    if (fuzz.kind === "oversized" && fuzz.messages.length === 1)
      this.oversizedCodes.set(code, (this.oversizedCodes.get(code) ?? 0) + 1);
  }

  record(fuzz: FuzzCase, outcome: Awaited<ReturnType<typeof callRaw>>): void {
    this.calls++;
    this.methodsCalled.add(pathOf(fuzz.method));
    if (outcome.kind === "notSent") {
      this.notSent++;
      return;
    }
    if (outcome.kind === "cancelled") {
      this.count("CANCELLED_BY_FUZZER", fuzz);
      return;
    }
    const code = status[outcome.code] ?? String(outcome.code);
    this.count(code, fuzz);
    const reason = `${code} ${outcome.details.slice(0, 60)}`;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    if (FORBIDDEN.has(outcome.code)) {
      this.offenders.push({
        path: pathOf(fuzz.method),
        kind: fuzz.kind,
        code,
        details: outcome.details,
        hex: fuzz.messages.map((m) => Buffer.from(m.subarray(0, 256)).toString("hex")).join(" | "),
        metadata: JSON.stringify(
          fuzz.metadata.map(([k, v]) => [k, typeof v === "string" ? v.slice(0, 80) : "<bytes>"]),
        ),
      });
    }
  }
}

/** Runs `runs` generated cases (`seed` fixes them), `IN_FLIGHT` at a time. */
async function fuzz(seed: number, runs: number, tally: Tally, onBatch?: () => void): Promise<void> {
  const cases = fuzzCases(METHODS, POOLS, RECEIVE_LIMIT);
  for (let batch = 0; batch * BATCH < runs; batch++) {
    // One seed per batch keeps memory flat and every batch reproducible on its own.
    const queue = fc.sample(cases, { seed: seed + batch, numRuns: Math.min(BATCH, runs - batch * BATCH) });
    // A connection per batch: the fuzzer cancels many streams (deadlines, endless Watch/Tail), and
    // Node's HTTP/2 layer closes a connection after about a thousand client resets (its
    // rapid-reset protection), which would fail the calls in flight for reasons of the client's own.
    const client = rawClient(gateway.address);
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift())
        tally.record(next, await callRaw(client, next));
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    client.close();
    onBatch?.();
  }
}

describe("the gateway under fuzzed requests", () => {
  it(`answers ${RUNS} bad calls over every method without failing, crashing or leaking`, {
    timeout: 240_000,
  }, async () => {
    console.log(
      `fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED}), ${RUNS} calls over ${METHODS.length} methods`,
    );
    const started = Date.now();
    const warmUp = new Tally();
    await fuzz(SEED ^ 0x5eed, WARM_UP_RUNS, warmUp);
    await sleep(1000);
    const metricsAddress = await gateway.metricsAddress();
    await collectGarbage(gateway.output());
    const before = await gatewayMemory(metricsAddress);
    const baseline = before.rss;

    const alive = () => gateway.child.exitCode === null && gateway.child.signalCode === null;
    const health = probeHealth(gateway.address);
    const tally = new Tally();
    let diedDuringRun = false;
    await fuzz(SEED, RUNS, tally, () => {
      if (!alive()) diedDuringRun = true;
    });
    await health.stop();
    const fuzzMs = Date.now() - started;

    // Settle (async writes, sweeps), collect what is garbage, then the lowest of a few readings.
    let after: GatewayMemory = { rss: Number.POSITIVE_INFINITY, heapUsed: 0, external: 0 };
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      await collectGarbage(gateway.output());
      const reading = await gatewayMemory(metricsAddress);
      if (reading.rss < after.rss) after = reading;
    }
    const final = after.rss;

    const offenders = [...warmUp.offenders, ...tally.offenders];
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
    console.log(
      [
        `${tally.calls} calls (+${warmUp.calls} warm-up) in ${fuzzMs} ms; not sent (metadata refused by grpc-js): ${tally.notSent}`,
        `codes: ${JSON.stringify(Object.fromEntries(tally.codes))}`,
        `top reasons: ${JSON.stringify([...tally.reasons].sort((a, b) => b[1] - a[1]).slice(0, 12))}`,
        `oversized: ${JSON.stringify(Object.fromEntries(tally.oversizedCodes))}`,
        `health probes: ${health.probes}, failed: ${health.failures.length}`,
        `RSS baseline ${mib(baseline)}, final ${mib(final)}; heap used ${mib(before.heapUsed)} → ${mib(after.heapUsed)}, external ${mib(before.external)} → ${mib(after.external)}`,
        ...offenders
          .slice(0, 8)
          .map(
            (o) =>
              `OFFENDER ${o.path} [${o.kind}] ${o.code} "${o.details}" input=${o.hex} metadata=${o.metadata}`,
          ),
      ].join("\n"),
    );

    expect(tally.calls).toBeGreaterThanOrEqual(RUNS);
    // Every method, and (unfiltered) every method of every service.
    expect([...tally.methodsCalled].sort()).toEqual(METHODS.map(pathOf).sort());
    if (!FILTER) expect(METHODS.length).toBe(SERVICES.reduce((n, s) => n + s.methods.length, 0));
    expect(
      offenders.map((o) => `${o.path} ${o.code} ${o.details}`),
      `calls ended UNKNOWN/INTERNAL/DATA_LOSS (seed ${SEED})`,
    ).toEqual([]);
    // Every oversized request is refused for its size (not decoded, not crashed on).
    for (const code of tally.oversizedCodes.keys()) {
      // (or its deadline, or the fuzzer's patience with a stream, ran out while it was uploading)
      expect(["RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED", "CANCELLED_BY_FUZZER"]).toContain(code);
    }
    expect(diedDuringRun || !alive(), `gateway exited:\n${gateway.output().slice(-4000)}`).toBe(false);
    expect(health.failures, "health probes failed during the fuzz").toEqual([]);
    expect(health.probes).toBeGreaterThan(0);
    // Back to baseline once garbage is collected: what stays is referenced (a leak), not garbage.
    expect(after.external - before.external, "external memory kept after a full GC").toBeLessThanOrEqual(
      EXTERNAL_SLACK_BYTES,
    );
    expect(after.heapUsed - before.heapUsed, "V8 heap kept after a full GC").toBeLessThanOrEqual(
      HEAP_SLACK_BYTES,
    );
    expect(final - baseline, "RSS kept after a full GC").toBeLessThanOrEqual(RSS_SLACK_BYTES);
  });
});
