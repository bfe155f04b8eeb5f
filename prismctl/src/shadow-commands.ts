import { timestampDate, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  AdminService,
  type GatewayShadowStatus,
  type GetShadowStatusResponse,
  GetShadowStatusResponseSchema,
  type Namespace,
  NamespaceSchema,
  type ShadowCounters,
  ShadowMode,
  type VerifyShadowResponse,
  VerifyShadowResponseSchema,
} from "@prism/proto/prism/admin/v1/admin";
import { type Command, InvalidArgumentError } from "commander";
import { backfillSummary } from "./backfill-commands.js";
import { type CliContext, UsageError, withClient } from "./cli.js";
import { type Call, type CommandKit, wholeNumber } from "./command-kit.js";
import { protoJson } from "./output.js";
import { count, duration, liveLine } from "./progress-bar.js";

/** The modes by their YAML names (the names `namespace apply` takes). */
const MODES: Record<string, ShadowMode> = {
  "dual-write": ShadowMode.DUAL_WRITE,
  "shadow-read": ShadowMode.SHADOW_READ,
  "read-shadow": ShadowMode.READ_SHADOW,
};
const MODE_NAMES = "dual-write, shadow-read or read-shadow";
/** VerifyShadow's `max_records_per_second` is a uint32. */
const MAX_VERIFY_RATE = 2 ** 32 - 1;

type Rate = { sampleRate?: number };

/** `shadow start|mode|status|verify|promote|rollback|stop` (DESIGN §7). */
export function addShadowCommands(root: Command, kit: CommandKit): void {
  const shadow = root
    .command("shadow")
    .description("Shadow traffic: mirror a namespace to a second backend, compare, promote (DESIGN §7)");

  kit.namespaced(
    shadow
      .command("start")
      .description("Give the namespace a shadow backend; then copy existing data with backfill start.")
      .option("--backend <name>", "the shadow's backend (required)")
      .option("--mode <mode>", `${MODE_NAMES} (default: dual-write)`, parseMode)
      .option("--sample-rate <rate>", "fraction of reads compared, 0..1 (default: 1)", parseSampleRate),
    {},
    async (ctx, { namespace, opts }: Call<Rate & { backend?: string; mode?: ShadowMode }>) => {
      if (!opts.backend) throw new UsageError("--backend: required (the shadow's backend)");
      const shadow = {
        backend: opts.backend,
        mode: opts.mode ?? ShadowMode.DUAL_WRITE,
        sampleRate: opts.sampleRate ?? 1,
      };
      const result = await withClient(ctx, AdminService, (admin) => admin.startShadow({ namespace, shadow }));
      printNamespace(ctx, "shadow started", result.namespace!);
      ctx.print.note(`copy the existing data with: prismctl backfill start ${namespace}`);
    },
  );

  kit.namespaced(
    shadow
      .command("mode")
      .description("Change the shadow's mode (and sample rate).")
      .option("--sample-rate <rate>", "fraction of reads compared, 0..1 (default: keep)", parseSampleRate),
    { MODE: MODE_NAMES },
    async (ctx, { namespace, args: [modeText], opts }: Call<Rate>) => {
      const mode = modeOf(modeText!, UsageError);
      await withClient(ctx, AdminService, async (admin) => {
        // SetShadowMode sets both: without --sample-rate, keep the current one.
        const sampleRate =
          opts.sampleRate ??
          (await admin.getNamespace({ name: namespace })).namespace?.shadow?.sampleRate ??
          1;
        const result = await admin.setShadowMode({ namespace, mode, sampleRate });
        printNamespace(ctx, "mode set", result.namespace!);
      });
    },
  );

  kit.namespaced(
    shadow
      .command("status")
      .description(
        "Mode, counters summed over gateways and per gateway, newest backfill and verify, mismatches.",
      ),
    {},
    async (ctx, { namespace }) => {
      const status = await withClient(ctx, AdminService, (admin) => admin.getShadowStatus({ namespace }));
      ctx.print.document(protoJson(GetShadowStatusResponseSchema, status), () =>
        statusLines(namespace, status),
      );
    },
  );

  kit.namespaced(
    shadow
      .command("verify")
      .description(
        "Compare primary and shadow record by record (progress on a terminal); differences exit 1.",
      )
      .option(
        "--rate <records-per-s>",
        "read at most this many records a second from each side",
        wholeNumber("--rate", 1, MAX_VERIFY_RATE),
      ),
    {},
    async (ctx, { namespace, opts }: Call<{ rate?: number }>) => {
      await withClient(ctx, AdminService, async (admin) => {
        const live = liveLine(ctx.progress);
        let last: VerifyShadowResponse | undefined;
        for await (const progress of admin.verifyShadow({ namespace, maxRecordsPerSecond: opts.rate ?? 0 })) {
          last = progress;
          live.show(`verifying ${namespace} (${progress.phase}): ${verifyCounts(progress)}`);
        }
        live.clear();
        if (!last?.done) throw new Error(`the verification of ${namespace} ended before it finished`);
        const differences = last.missing + last.differing + last.extra;
        ctx.print.document(protoJson(VerifyShadowResponseSchema, last), () => [
          `verified ${namespace}: ${verifyCounts(last)}`,
          ...last.samples.map((sample) => `  ${sample.id}\t${sample.summary}`),
          ...(differences === 0n ? ["primary and shadow hold the same data"] : []),
        ]);
        if (differences > 0n) {
          const plural = differences === 1n ? "difference" : "differences";
          throw new Error(`${count(differences)} ${plural} between primary and shadow`);
        }
      });
    },
  );

  const swap = (name: "promote" | "rollback", description: string, done: string) =>
    kit.namespaced(
      shadow.command(name).description(description).option("--force", "even when the safety checks refuse"),
      {},
      async (ctx, { namespace, opts }: Call<{ force?: boolean }>) => {
        const force = opts.force === true;
        const swapped = await withClient(ctx, AdminService, async (admin) =>
          name === "promote"
            ? (await admin.promoteShadow({ namespace, force })).namespace
            : (await admin.rollbackShadow({ namespace, force })).namespace,
        );
        printNamespace(ctx, done, swapped!);
      },
    );
  swap(
    "promote",
    "Swap the backends: the shadow becomes the primary (the old primary, its shadow).",
    "promoted",
  );
  swap("rollback", "Swap the backends back after a promote.", "rolled back");

  kit.namespaced(
    shadow
      .command("stop")
      .description("End shadow traffic: only the primary stays (the shadow's data stays)."),
    {},
    async (ctx, { namespace }) => {
      const result = await withClient(ctx, AdminService, (admin) => admin.stopShadow({ namespace }));
      printNamespace(ctx, "shadow stopped (its data stays)", result.namespace!);
    },
  );
}

function printNamespace(ctx: CliContext, what: string, namespace: Namespace): void {
  ctx.print.document(protoJson(NamespaceSchema, namespace), () => `${what}: ${describe(namespace)}`);
}

function statusLines(namespace: string, status: GetShadowStatusResponse): string[] {
  const shadow = status.shadow!;
  const totals = status.totals;
  const verified = status.lastVerify;
  const at = verified?.time ? ` at ${timestampDate(verified.time).toISOString()}` : "";
  return [
    `namespace:  ${namespace} v${status.namespaceVersion}`,
    `primary:    ${status.primaryBackend}`,
    `shadow:     ${shadow.backend}`,
    `mode:       ${modeName(shadow.mode)}, sample rate ${shadow.sampleRate}`,
    `writes:     ${totals ? writeCounts(totals) : "no counters published yet"}`,
    `reads:      ${totals ? readCounts(totals) : "no counters published yet"}`,
    ...(status.gateways.length === 0 ? ["gateways:   none published counters in the last minute"] : []),
    ...status.gateways.map((gateway) => gatewayLine(gateway, status.namespaceVersion)),
    `backfill:   ${status.backfill ? backfillSummary(status.backfill) : "none yet"}`,
    `verify:     ${verified ? `${verifyCounts(verified)}${at}` : "never run"}`,
    `mismatches: ${status.recentMismatches.length === 0 ? "none recently" : "recent, newest last"}`,
    ...status.recentMismatches.map((mismatch) => `  ${mismatch.id}\t${mismatch.summary}`),
  ];
}

/** A mode by its YAML name; `fail` is the error a bad one throws (an option's or an argument's). */
function modeOf(text: string, fail: new (message: string) => Error): ShadowMode {
  if (Object.hasOwn(MODES, text)) return MODES[text]!;
  throw new fail(`MODE: ${MODE_NAMES} (not ${JSON.stringify(text)})`);
}

function parseMode(text: string): ShadowMode {
  return modeOf(text, InvalidArgumentError);
}

/** `--sample-rate R`: a number from 0 to 1. */
function parseSampleRate(text: string): number {
  const rate = Number(text);
  if (!/^(\d+\.?\d*|\.\d+)$/.test(text) || rate > 1) {
    throw new InvalidArgumentError(`--sample-rate: a number from 0 to 1 (not ${JSON.stringify(text)})`);
  }
  return rate;
}

function modeName(mode: ShadowMode): string {
  // Unspecified is what the gateway treats as dual-write.
  return Object.keys(MODES).find((name) => MODES[name] === mode) ?? "dual-write";
}

/** `ns v7: primary lite, shadow mem (dual-write, sample rate 1)`. */
function describe(namespace: Namespace): string {
  const { shadow } = namespace;
  const shadowText = shadow
    ? `shadow ${shadow.backend} (${modeName(shadow.mode)}, sample rate ${shadow.sampleRate})`
    : "no shadow";
  return `${namespace.name} v${namespace.version}: primary ${namespace.backend}, ${shadowText}`;
}

function writeCounts(c: ShadowCounters): string {
  return `${count(c.writesOk)} ok, ${count(c.writesFailed)} failed, ${count(c.writesDropped)} dropped, ${count(c.queueDepth)} queued`;
}

function readCounts(c: ShadowCounters): string {
  return `${count(c.readsMatched)} matched, ${count(c.readsMismatched)} mismatched, ${count(c.readsSkipped)} skipped, ${count(c.readsServedByShadow)} served by shadow, ${count(c.readsFellBack)} fell back`;
}

/** `gateway gw-1 serves v7 (updated 1s ago): writes …; reads …`, flagging a gateway not yet on the stored version. */
function gatewayLine(gateway: GatewayShadowStatus, current: bigint): string {
  const behind = gateway.namespaceVersion < current ? " (reloading)" : "";
  const age = gateway.updateTime
    ? ` (updated ${duration(Date.now() - timestampMs(gateway.updateTime))} ago)`
    : "";
  const counters = gateway.counters;
  const totals = counters ? `: writes ${writeCounts(counters)}; reads ${readCounts(counters)}` : "";
  return `gateway ${gateway.gateway} serves v${gateway.namespaceVersion}${behind}${age}${totals}`;
}

function verifyCounts(p: VerifyShadowResponse): string {
  return `${count(p.examined)} examined, ${count(p.missing)} missing, ${count(p.differing)} differing, ${count(p.extra)} extra`;
}
