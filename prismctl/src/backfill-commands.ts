import { setTimeout as sleep } from "node:timers/promises";
import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { errorDetails, type PromiseClient } from "@prism/proto/grpc";
import { AdminService, type BackfillJob, BackfillState } from "@prism/proto/prism/admin/v1/admin";
import { type CliContext, type Commands, flag, need, UsageError, withClient } from "./cli.js";
import { bytes, count, duration, liveLine, progressLine } from "./progress-bar.js";

/** How often a followed backfill is asked for progress. */
const POLL_MS = 500;
/** StartBackfill's `max_records_per_second` is a uint32. */
const MAX_RECORDS_PER_SECOND = 2 ** 32 - 1;

type Admin = PromiseClient<typeof AdminService.method>;

/** `backfill start|status|cancel` (DESIGN §7): copy a namespace's primary into its shadow. */
export const BACKFILL_COMMANDS: Commands = {
  "backfill start": {
    usage: "backfill start NAMESPACE [--rate RECORDS_PER_S] [--bytes-rate BYTES_PER_S] [--detach]",
    async run(ctx, args) {
      const namespace = word(args, this.usage);
      const rate = positiveInteger(args, "--rate", this.usage, MAX_RECORDS_PER_SECOND);
      const bytesRate = positiveInteger(args, "--bytes-rate", this.usage);
      await withClient(ctx, AdminService, async (admin) => {
        const { job } = await admin.startBackfill({
          namespace,
          maxRecordsPerSecond: rate ?? 0,
          maxBytesPerSecond: BigInt(bytesRate ?? 0),
        });
        ctx.out(
          `backfill ${job!.id} started: copies ${job!.namespace} from its primary to its shadow, on gateway ${job!.owner}`,
        );
        if (args.includes("--detach")) {
          ctx.out(`follow it with: prismctl backfill status ${job!.id} --watch`);
          return;
        }
        await followToEnd(ctx, admin, job!);
      });
    },
  },
  "backfill status": {
    usage: "backfill status ID [--watch]",
    async run(ctx, args) {
      const id = word(args, this.usage);
      await withClient(ctx, AdminService, async (admin) => {
        const job = await getJob(admin, id);
        if (args.includes("--watch")) await followToEnd(ctx, admin, job);
        else ctx.out(backfillSummary(job));
      });
    },
  },
  "backfill cancel": {
    usage: "backfill cancel ID",
    async run(ctx, args) {
      const id = word(args, this.usage);
      await withClient(ctx, AdminService, async (admin) => {
        const { job } = await admin.cancelBackfill({ id }).catch((error) => notFound(error, id));
        // A job that had already ended comes back as it ended.
        ctx.out(backfillSummary(job!));
      });
    },
  },
};

/**
 * One line for a job: `ns.k2x SUCCEEDED: 200/200 records copied, 0 skipped, 5.6 kB in 1s`; a
 * running job adds its phase, rate, ETA and gateway; a failed one its error.
 *
 * @example ctx.out(backfillSummary(job))
 */
export function backfillSummary(job: BackfillJob): string {
  const total = job.recordsTotal > 0n ? `/${count(job.recordsTotal)}` : "";
  let line = `${job.id} ${stateName(job.state)}: ${count(job.recordsCopied)}${total} records copied, ${count(job.recordsSkipped)} skipped, ${bytes(job.bytesCopied)}`;
  const elapsed =
    job.startTime && job.updateTime ? timestampMs(job.updateTime) - timestampMs(job.startTime) : 0;
  if (job.state === BackfillState.RUNNING) {
    line += `, ${phaseText(job.phase)}, ${count(job.recordsPerSecond)} rec/s`;
    if (job.eta) line += `, ETA ${duration(durationMs(job.eta))}`;
    return `${line}, on gateway ${job.owner}`;
  }
  line += ` in ${duration(elapsed)}`;
  return job.error ? `${line}: ${job.error}` : line;
}

/**
 * `--NAME N`: absent → undefined; otherwise a whole number from 1 to `max`, or a UsageError.
 *
 * @example positiveInteger(["--rate", "500"], "--rate", usage) // 500
 */
export function positiveInteger(
  args: string[],
  name: string,
  usage: string,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (!args.includes(name)) return undefined;
  const text = flag(args, name) ?? "";
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) {
    throw new UsageError(
      `${usage}\n  ${name}: a whole number from 1 to ${count(max)} (not ${JSON.stringify(text)})`,
    );
  }
  return value;
}

/** The first argument, which must not be a flag. */
export function word(args: string[], usage: string): string {
  const [value] = need(args, 1, usage);
  if (value!.startsWith("-")) throw new UsageError(usage);
  return value!;
}

/**
 * Shows the job's progress until it ends, then its summary; a job that failed or was cancelled
 * is an error (exit 1). Ctrl-C stops following only: the job runs on in the gateway.
 */
async function followToEnd(ctx: CliContext, admin: Admin, started: BackfillJob): Promise<void> {
  const live = liveLine(process.stdout);
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  let job = started;
  try {
    while (job.state === BackfillState.RUNNING) {
      live.show(progressLine(progressOf(job)));
      await sleep(POLL_MS, undefined, { signal: stop.signal });
      job = await getJob(admin, job.id, stop.signal);
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error;
    live.clear();
    ctx.out(`stopped following; backfill ${job.id} keeps running (${backfillSummary(job)})`);
    ctx.out(`  check on it: prismctl backfill status ${job.id} --watch`);
    ctx.out(`  cancel it:   prismctl backfill cancel ${job.id}`);
    return;
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  }
  live.clear();
  ctx.out(backfillSummary(job));
  if (job.state !== BackfillState.SUCCEEDED) {
    throw new Error(`backfill ${job.id} ${stateName(job.state)}${job.error ? `: ${job.error}` : ""}`);
  }
}

function progressOf(job: BackfillJob) {
  // While counting, the total is still growing: show the count alone.
  const counting = job.phase === "counting";
  return {
    done: Number(counting ? job.recordsTotal : job.recordsCopied + job.recordsSkipped),
    total: counting ? 0 : Number(job.recordsTotal),
    unit: counting ? "records counted" : "records",
    rate: job.recordsPerSecond,
    bytesPerSecond: job.bytesPerSecond,
    ...(job.eta && { etaMs: durationMs(job.eta) }),
    phase: phaseText(job.phase),
  };
}

async function getJob(admin: Admin, id: string, signal?: AbortSignal): Promise<BackfillJob> {
  const { job } = await admin
    .getBackfill({ id }, { ...(signal && { signal }) })
    .catch((error) => notFound(error, id));
  return job!;
}

/** The gateway's "no such backfill", naming the id asked for. */
function notFound(error: unknown, id: string): never {
  if (errorDetails(error).reason === "BACKFILL_NOT_FOUND") {
    Object.assign(error as object, { details: `no backfill job ${JSON.stringify(id)}` });
  }
  throw error;
}

/** `counting`, then the copy phases: `copying` (or the pattern's own, e.g. Graph `nodes`, `edges`). */
function phaseText(phase: string): string {
  return phase === "counting" || phase === "" || phase.startsWith("copying") ? phase : `copying ${phase}`;
}

function stateName(state: BackfillState): string {
  return BackfillState[state] ?? "UNKNOWN";
}
