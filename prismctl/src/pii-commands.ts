import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { PromiseClient } from "@prism/proto/grpc";
import {
  AdminService,
  type AuditEntry,
  AuditEntrySchema,
  AuditOperation,
  JobState,
  type ReEncryptJob,
  ReEncryptJobSchema,
  RotateKeyResponseSchema,
  VerifyAuditResponseSchema,
} from "@prism/proto/prism/admin/v1/admin";
import type { Command } from "commander";
import { type CliContext, withClient } from "./cli.js";
import { type Call, type CommandKit, wholeNumber } from "./command-kit.js";
import { follow } from "./follow.js";
import { protoJson } from "./output.js";
import { liveLine, progressLine } from "./progress-bar.js";
import type { GlobalOptions } from "./settings.js";
import { parseTime } from "./time.js";

type Admin = PromiseClient<typeof AdminService.method>;

/** `keys rotate|reencrypt|reencrypt-status`, `audit [filters]`, `audit verify` (ADR-0017, ADR-0018). */
export function addPiiCommands(root: Command, kit: CommandKit): void {
  const keys = root
    .command("keys")
    .description("Data keys of encrypted PII fields: rotate, re-encrypt (ADR-0017)");

  kit.namespaced(
    keys.command("rotate").description("New writes of the namespace's encrypted fields use a new data key."),
    {},
    async (ctx, { namespace }) => {
      const result = await withClient(ctx, AdminService, (admin) => admin.rotateKey({ namespace }));
      const previous =
        result.previousKeyIds.length > 0 ? ` (older keys kept: ${result.previousKeyIds.join(", ")})` : "";
      ctx.print.document(
        protoJson(RotateKeyResponseSchema, result),
        () => `${namespace}: new writes use key ${result.keyId}${previous}`,
      );
    },
  );

  kit.namespaced(
    keys
      .command("reencrypt")
      .description(
        "Rewrite the namespace's stored values under its current data key.\n" +
          "The job runs in the gateway; prismctl follows it with a live line on a terminal (Ctrl-C " +
          "stops following, the job runs on). A job that fails exits 1.",
      )
      .option("--detach", "start it and return"),
    {},
    async (ctx, { namespace, opts }: Call<{ detach?: boolean }>) => {
      await withClient(ctx, AdminService, async (admin) => {
        const job = (await admin.startReEncrypt({ namespace })).job!;
        ctx.print.note(`job ${job.id}: moving ${job.namespace} to key ${job.keyId}`);
        if (opts.detach) {
          ctx.print.note(`follow it with: prismctl keys reencrypt-status ${job.id} --watch`);
          ctx.print.document(protoJson(ReEncryptJobSchema, job), () => []);
          return;
        }
        await followReEncrypt(ctx, admin, job);
      });
    },
  );

  kit.gateway(
    keys
      .command("reencrypt-status")
      .description("A re-encrypt job's progress.")
      .option("--watch", "follow it to its end"),
    { ID: "the job id (printed by keys reencrypt)" },
    async (ctx, { args: [id], opts }: Call<{ watch?: boolean }>) => {
      await withClient(ctx, AdminService, async (admin) => {
        const job = (await admin.getReEncrypt({ id: id! })).job!;
        if (opts.watch) await followReEncrypt(ctx, admin, job);
        else ctx.print.document(protoJson(ReEncryptJobSchema, job), () => reEncryptSummary(job));
      });
    },
  );

  const audit = root
    .command("audit")
    .description(
      "The audit log of audited PII fields, oldest first.\n" +
        "Lines are SEQ TIME read|write PRINCIPAL NAMESPACE ID FIELDS, tab-separated; -o json: an entry " +
        "a line. -n NS keeps one namespace's (a context's namespace does not filter).",
    )
    .option("--principal <principal>", "only this principal: user:SUBJECT, service:SUBJECT")
    .option("--since <time>", "from this time: ISO 8601, epoch ms, now, -15m, -2h, -1d", parseTime)
    .option("--until <time>", "to this time", parseTime)
    .option("--limit <n>", "at most this many entries (default 100)", wholeNumber("--limit", 1));
  kit.gateway(
    audit,
    {},
    async (ctx, call: Call<{ principal?: string; since?: number; until?: number; limit?: number }>) => {
      const { opts } = call;
      const namespace = (call.command.optsWithGlobals() as GlobalOptions).namespace ?? "";
      const limit = opts.limit ?? 100;
      await withClient(ctx, AdminService, async (admin) => {
        let pageToken = "";
        let shown = 0;
        do {
          const page = await admin.queryAudit({
            namespace,
            principal: opts.principal ?? "",
            ...(opts.since !== undefined && { startTime: timestampFromMs(opts.since) }),
            ...(opts.until !== undefined && { endTime: timestampFromMs(opts.until) }),
            limit: Math.min(limit - shown, 1000),
            pageToken,
          });
          for (const entry of page.entries)
            ctx.print.item(protoJson(AuditEntrySchema, entry), () => auditLine(entry));
          shown += page.entries.length;
          pageToken = page.nextPageToken;
        } while (pageToken !== "" && shown < limit);
      });
    },
  );

  kit.gateway(
    audit.command("verify").description("Recompute the log's hash chain; a broken chain exits 1."),
    {},
    async (ctx) => {
      const result = await withClient(ctx, AdminService, (admin) => admin.verifyAudit({}));
      ctx.print.document(protoJson(VerifyAuditResponseSchema, result), () =>
        result.ok
          ? `ok: ${result.entriesChecked} entries, chain intact`
          : `BROKEN at entry ${result.firstBadSeq}: ${result.problem} (${result.entriesChecked} entries verified before it)`,
      );
      if (!result.ok) throw new Error("the audit log does not verify");
    },
  );
}

async function followReEncrypt(ctx: CliContext, admin: Admin, started: ReEncryptJob): Promise<void> {
  const { job, interrupted } = await follow(started, {
    next: async (signal) => (await admin.getReEncrypt({ id: started.id }, { signal })).job!,
    running: (j) => j.state === JobState.RUNNING,
    // No total: the gateway does not count a namespace's values first.
    line: (j) =>
      progressLine({
        done: Number(j.recordsDone),
        total: 0,
        unit: "values checked",
        rate: j.recordsPerSecond,
        phase: `${j.recordsRewritten} rewritten`,
      }),
    live: liveLine(ctx.progress),
  });
  if (interrupted) {
    ctx.print.note(`stopped following; job ${job.id} keeps running (${reEncryptSummary(job)})`);
    ctx.print.note(`  check on it: prismctl keys reencrypt-status ${job.id} --watch`);
    return;
  }
  ctx.print.document(protoJson(ReEncryptJobSchema, job), () => reEncryptSummary(job));
  if (job.state !== JobState.SUCCEEDED) throw new Error(`re-encrypt ${stateName(job.state)}: ${job.error}`);
}

function reEncryptSummary(job: ReEncryptJob): string {
  return `${stateName(job.state)}: ${job.recordsDone} values checked, ${job.recordsRewritten} rewritten, ${job.recordsPerSecond.toFixed(0)}/s`;
}

function stateName(state: JobState): string {
  return (JobState[state] ?? "unknown").toLowerCase();
}

function auditLine(entry: AuditEntry): string {
  const time = entry.time ? timestampDate(entry.time).toISOString() : "-";
  const op = entry.operation === AuditOperation.READ ? "read " : "write";
  return `${entry.seq}\t${time}\t${op}\t${entry.principal}\t${entry.namespace}\t${entry.id}\t${entry.fields.join(",")}`;
}
