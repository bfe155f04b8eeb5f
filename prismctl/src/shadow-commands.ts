import { toJsonString } from "@bufbuild/protobuf";
import { timestampDate, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  AdminService,
  type GatewayShadowStatus,
  GetShadowStatusResponseSchema,
  type Namespace,
  type ShadowCounters,
  ShadowMode,
  type VerifyShadowResponse,
} from "@prism/proto/prism/admin/v1/admin";
import { backfillSummary, positiveInteger, word } from "./backfill-commands.js";
import { type Commands, flag, need, UsageError, withClient } from "./cli.js";
import { count, duration, liveLine } from "./progress-bar.js";

/** The modes by their YAML names (the names `namespace apply` takes). */
const MODES: Record<string, ShadowMode> = {
  "dual-write": ShadowMode.DUAL_WRITE,
  "shadow-read": ShadowMode.SHADOW_READ,
  "read-shadow": ShadowMode.READ_SHADOW,
};
/** VerifyShadow's `max_records_per_second` is a uint32. */
const MAX_VERIFY_RATE = 2 ** 32 - 1;

/** `shadow start|mode|status|verify|promote|rollback|stop` (DESIGN §7). */
export const SHADOW_COMMANDS: Commands = {
  "shadow start": {
    usage:
      "shadow start NAMESPACE --backend NAME [--mode dual-write|shadow-read|read-shadow] [--sample-rate 0..1]",
    async run(ctx, args) {
      const namespace = word(args, this.usage);
      const backend = flag(args, "--backend");
      if (!backend || backend.startsWith("-")) throw new UsageError(`${this.usage}\n  --backend: required`);
      const mode = args.includes("--mode")
        ? parseMode(flag(args, "--mode"), this.usage)
        : ShadowMode.DUAL_WRITE;
      const sampleRate = parseSampleRate(args, this.usage) ?? 1;
      await withClient(ctx, AdminService, async (admin) => {
        const result = await admin.startShadow({ namespace, shadow: { backend, mode, sampleRate } });
        ctx.out(`shadow started: ${describe(result.namespace!)}`);
        ctx.out(`copy the existing data with: prismctl backfill start ${namespace}`);
      });
    },
  },
  "shadow mode": {
    usage: "shadow mode NAMESPACE dual-write|shadow-read|read-shadow [--sample-rate 0..1]",
    async run(ctx, args) {
      const [namespace, modeText] = need(args, 2, this.usage);
      if (namespace!.startsWith("-")) throw new UsageError(this.usage);
      const mode = parseMode(modeText, this.usage);
      const given = parseSampleRate(args, this.usage);
      await withClient(ctx, AdminService, async (admin) => {
        // SetShadowMode sets both: without --sample-rate, keep the current one.
        const sampleRate =
          given ?? (await admin.getNamespace({ name: namespace! })).namespace?.shadow?.sampleRate ?? 1;
        const result = await admin.setShadowMode({ namespace: namespace!, mode, sampleRate });
        ctx.out(`mode set: ${describe(result.namespace!)}`);
      });
    },
  },
  "shadow status": {
    usage: "shadow status NAMESPACE [--json]",
    async run(ctx, args) {
      const namespace = word(args, this.usage);
      await withClient(ctx, AdminService, async (admin) => {
        const status = await admin.getShadowStatus({ namespace });
        if (args.includes("--json")) {
          ctx.out(toJsonString(GetShadowStatusResponseSchema, status, { prettySpaces: 2 }));
          return;
        }
        const shadow = status.shadow!;
        ctx.out(`namespace:  ${namespace} v${status.namespaceVersion}`);
        ctx.out(`primary:    ${status.primaryBackend}`);
        ctx.out(`shadow:     ${shadow.backend}`);
        ctx.out(`mode:       ${modeName(shadow.mode)}, sample rate ${shadow.sampleRate}`);
        const totals = status.totals;
        ctx.out(`writes:     ${totals ? writeCounts(totals) : "no counters published yet"}`);
        ctx.out(`reads:      ${totals ? readCounts(totals) : "no counters published yet"}`);
        if (status.gateways.length === 0) ctx.out("gateways:   none published counters in the last minute");
        for (const gateway of status.gateways) ctx.out(gatewayLine(gateway, status.namespaceVersion));
        ctx.out(`backfill:   ${status.backfill ? backfillSummary(status.backfill) : "none yet"}`);
        const verified = status.lastVerify;
        const at = verified?.time ? ` at ${timestampDate(verified.time).toISOString()}` : "";
        ctx.out(`verify:     ${verified ? `${verifyCounts(verified)}${at}` : "never run"}`);
        ctx.out(
          `mismatches: ${status.recentMismatches.length === 0 ? "none recently" : "recent, newest last"}`,
        );
        for (const mismatch of status.recentMismatches) ctx.out(`  ${mismatch.id}\t${mismatch.summary}`);
      });
    },
  },
  "shadow verify": {
    usage: "shadow verify NAMESPACE [--rate RECORDS_PER_S]",
    async run(ctx, args) {
      const namespace = word(args, this.usage);
      const rate = positiveInteger(args, "--rate", this.usage, MAX_VERIFY_RATE);
      await withClient(ctx, AdminService, async (admin) => {
        const live = liveLine(process.stdout);
        let last: VerifyShadowResponse | undefined;
        for await (const progress of admin.verifyShadow({ namespace, maxRecordsPerSecond: rate ?? 0 })) {
          last = progress;
          live.show(`verifying ${namespace} (${progress.phase}): ${verifyCounts(progress)}`);
        }
        live.clear();
        if (!last?.done) throw new Error(`the verification of ${namespace} ended before it finished`);
        ctx.out(`verified ${namespace}: ${verifyCounts(last)}`);
        for (const sample of last.samples) ctx.out(`  ${sample.id}\t${sample.summary}`);
        const differences = last.missing + last.differing + last.extra;
        if (differences > 0n) {
          const plural = differences === 1n ? "difference" : "differences";
          throw new Error(`${count(differences)} ${plural} between primary and shadow`);
        }
        ctx.out("primary and shadow hold the same data");
      });
    },
  },
  "shadow promote": {
    usage: "shadow promote NAMESPACE [--force]",
    async run(ctx, args) {
      const namespace = word(args, this.usage);
      await withClient(ctx, AdminService, async (admin) => {
        const result = await admin.promoteShadow({ namespace, force: args.includes("--force") });
        ctx.out(`promoted: ${describe(result.namespace!)}`);
      });
    },
  },
  "shadow rollback": {
    usage: "shadow rollback NAMESPACE [--force]",
    async run(ctx, args) {
      const namespace = word(args, this.usage);
      await withClient(ctx, AdminService, async (admin) => {
        const result = await admin.rollbackShadow({ namespace, force: args.includes("--force") });
        ctx.out(`rolled back: ${describe(result.namespace!)}`);
      });
    },
  },
  "shadow stop": {
    usage: "shadow stop NAMESPACE",
    async run(ctx, args) {
      const namespace = word(args, this.usage);
      await withClient(ctx, AdminService, async (admin) => {
        const result = await admin.stopShadow({ namespace });
        ctx.out(`shadow stopped (its data stays): ${describe(result.namespace!)}`);
      });
    },
  },
};

function parseMode(text: string | undefined, usage: string): ShadowMode {
  if (text !== undefined && Object.hasOwn(MODES, text)) return MODES[text]!;
  throw new UsageError(
    `${usage}\n  MODE: dual-write, shadow-read or read-shadow (not ${JSON.stringify(text ?? "")})`,
  );
}

/** `--sample-rate R`: a number from 0 to 1, or undefined when absent. */
function parseSampleRate(args: string[], usage: string): number | undefined {
  if (!args.includes("--sample-rate")) return undefined;
  const text = flag(args, "--sample-rate") ?? "";
  const rate = Number(text);
  if (!/^(\d+\.?\d*|\.\d+)$/.test(text) || rate > 1) {
    throw new UsageError(`${usage}\n  --sample-rate: a number from 0 to 1 (not ${JSON.stringify(text)})`);
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
