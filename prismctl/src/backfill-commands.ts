import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { errorDetails, type PromiseClient } from "@prism/proto/grpc";
import {
  AdminService,
  type BackfillJob,
  BackfillJobSchema,
  BackfillState,
} from "@prism/proto/prism/admin/v1/admin";
import type { Command } from "commander";
import { type CliContext, withClient } from "./cli.js";
import { type Call, type CommandKit, wholeNumber } from "./command-kit.js";
import { follow } from "./follow.js";
import { protoJson } from "./output.js";
import { bytes, count, duration, liveLine, progressLine } from "./progress-bar.js";

/** StartBackfill's `max_records_per_second` is a uint32. */
const MAX_RECORDS_PER_SECOND = 2 ** 32 - 1;

type Admin = PromiseClient<typeof AdminService.method>;

/** `backfill start|status|cancel` (DESIGN §7): copy a namespace's primary into its shadow. */
export function addBackfillCommands(root: Command, kit: CommandKit): void {
  const backfill = root
    .command("backfill")
    .description("Backfill jobs: copy a namespace's primary into its shadow (DESIGN §7)");

  kit.namespaced(
    backfill
      .command("start")
      .description(
        "Start a backfill and follow it to its end.\n" +
          "A progress bar shows on a terminal; Ctrl-C stops following (the job runs on). A job that " +
          "fails or is cancelled exits 1. When the namespace's last backfill failed or was cancelled, " +
          "the new one continues from its checkpoint unless --from-scratch.",
      )
      .option(
        "--rate <records-per-s>",
        "copy at most this many records a second",
        wholeNumber("--rate", 1, MAX_RECORDS_PER_SECOND),
      )
      .option(
        "--bytes-rate <bytes-per-s>",
        "copy at most this many bytes a second",
        wholeNumber("--bytes-rate", 1),
      )
      .option("--from-scratch", "copy everything, not from the last failed or cancelled job's checkpoint")
      .option("--detach", "start it and return"),
    {},
    async (
      ctx,
      {
        namespace,
        opts,
      }: Call<{ rate?: number; bytesRate?: number; fromScratch?: boolean; detach?: boolean }>,
    ) => {
      await withClient(ctx, AdminService, async (admin) => {
        const { job } = await admin.startBackfill({
          namespace,
          maxRecordsPerSecond: opts.rate ?? 0,
          maxBytesPerSecond: BigInt(opts.bytesRate ?? 0),
          fromScratch: opts.fromScratch ?? false,
        });
        ctx.print.note(
          `backfill ${job!.id} started: copies ${job!.namespace} from its primary to its shadow, on gateway ${job!.owner}`,
        );
        if (job!.resumedFrom) {
          ctx.print.note(
            `  continuing from the checkpoint of ${job!.resumedFrom} (${count(job!.recordsCopied)} records copied); --from-scratch copies everything`,
          );
        }
        if (opts.detach) {
          ctx.print.note(`follow it with: prismctl backfill status ${job!.id} --watch`);
          ctx.print.document(protoJson(BackfillJobSchema, job!), () => []);
          return;
        }
        await followToEnd(ctx, admin, job!);
      });
    },
  );

  kit.gateway(
    backfill
      .command("status")
      .description("A job's progress; --watch follows it like start does.")
      .option("--watch", "follow it to its end"),
    { ID: "the job id (printed by backfill start)" },
    async (ctx, { args: [id], opts }: Call<{ watch?: boolean }>) => {
      await withClient(ctx, AdminService, async (admin) => {
        const job = await getJob(admin, id!);
        if (opts.watch) await followToEnd(ctx, admin, job);
        else ctx.print.document(protoJson(BackfillJobSchema, job), () => backfillSummary(job));
      });
    },
  );

  kit.gateway(
    backfill.command("cancel").description("Cancel a running job (one that ended is shown as it ended)."),
    { ID: "the job id" },
    async (ctx, { args: [id] }) => {
      await withClient(ctx, AdminService, async (admin) => {
        const { job } = await admin.cancelBackfill({ id: id! }).catch((error) => notFound(error, id!));
        ctx.print.document(protoJson(BackfillJobSchema, job!), () => backfillSummary(job!));
      });
    },
  );
}

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
    line += `, on gateway ${job.owner}`;
    return job.error ? `${line}; retrying after: ${job.error}` : line;
  }
  line += ` in ${duration(elapsed)}`;
  return job.error ? `${line}: ${job.error}` : line;
}

/**
 * Shows the job's progress until it ends, then its summary; a job that failed or was cancelled
 * is an error (exit 1). Ctrl-C stops following only: the job runs on in the gateway.
 */
async function followToEnd(ctx: CliContext, admin: Admin, started: BackfillJob): Promise<void> {
  const { job, interrupted } = await follow(started, {
    next: (signal) => getJob(admin, started.id, signal),
    running: (j) => j.state === BackfillState.RUNNING,
    line: (j) => progressLine(progressOf(j)),
    live: liveLine(ctx.progress),
  });
  if (interrupted) {
    ctx.print.note(`stopped following; backfill ${job.id} keeps running (${backfillSummary(job)})`);
    ctx.print.note(`  check on it: prismctl backfill status ${job.id} --watch`);
    ctx.print.note(`  cancel it:   prismctl backfill cancel ${job.id}`);
    return;
  }
  ctx.print.document(protoJson(BackfillJobSchema, job), () => backfillSummary(job));
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
