import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  AdminService,
  type AuditEntry,
  AuditOperation,
  JobState,
  type ReEncryptJob,
} from "@prism/proto/prism/admin/v1/admin";
import { type Commands, flag, need, UsageError, withClient } from "./cli.js";
import { parseTime } from "./ts-commands.js";

/** How often `keys reencrypt` asks for progress. */
const POLL_MS = 500;

/** `keys rotate|reencrypt`, `audit [filters]`, `audit verify`. */
export const PII_COMMANDS: Commands = {
  "keys rotate": {
    usage: "keys rotate NAMESPACE",
    async run(ctx, args) {
      const [namespace] = need(args, 1, this.usage);
      await withClient(ctx, AdminService, async (admin) => {
        const { keyId, previousKeyIds } = await admin.rotateKey({ namespace: namespace! });
        const previous = previousKeyIds.length > 0 ? ` (older keys kept: ${previousKeyIds.join(", ")})` : "";
        ctx.out(`${namespace}: new writes use key ${keyId}${previous}`);
      });
    },
  },
  "keys reencrypt": {
    usage: "keys reencrypt NAMESPACE [--detach]",
    async run(ctx, args) {
      const [namespace] = need(args, 1, this.usage);
      await withClient(ctx, AdminService, async (admin) => {
        let job = (await admin.startReEncrypt({ namespace: namespace! })).job!;
        ctx.out(`job ${job.id}: moving ${job.namespace} to key ${job.keyId}`);
        if (args.includes("--detach")) return;
        const live = process.stdout.isTTY === true;
        while (job.state === JobState.RUNNING) {
          if (live) process.stdout.write(`\r${progress(job)}\u001b[K`);
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          job = (await admin.getReEncrypt({ id: job.id })).job!;
        }
        if (live) process.stdout.write("\r\u001b[K");
        ctx.out(progress(job));
        if (job.state !== JobState.SUCCEEDED)
          throw new Error(`re-encrypt ${stateName(job.state)}: ${job.error}`);
      });
    },
  },
  audit: {
    usage:
      "audit [--namespace NS] [--principal user:SUBJECT] [--since TIME] [--until TIME] [--limit N] [--json]",
    async run(ctx, args) {
      const since = flag(args, "--since");
      const until = flag(args, "--until");
      const limitText = flag(args, "--limit");
      const limit = limitText === undefined ? 100 : Number(limitText);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(this.usage);
      await withClient(ctx, AdminService, async (admin) => {
        let pageToken = "";
        let shown = 0;
        do {
          const page = await admin.queryAudit({
            namespace: flag(args, "--namespace") ?? "",
            principal: flag(args, "--principal") ?? "",
            ...(since !== undefined && { startTime: timestampFromMs(parseTime(since, this.usage)) }),
            ...(until !== undefined && { endTime: timestampFromMs(parseTime(until, this.usage)) }),
            limit: Math.min(limit - shown, 1000),
            pageToken,
          });
          for (const entry of page.entries) ctx.out(args.includes("--json") ? json(entry) : line(entry));
          shown += page.entries.length;
          pageToken = page.nextPageToken;
        } while (pageToken !== "" && shown < limit);
      });
    },
  },
  "audit verify": {
    usage: "audit verify",
    async run(ctx) {
      await withClient(ctx, AdminService, async (admin) => {
        const result = await admin.verifyAudit({});
        if (result.ok) {
          ctx.out(`ok: ${result.entriesChecked} entries, chain intact`);
          return;
        }
        ctx.out(
          `BROKEN at entry ${result.firstBadSeq}: ${result.problem} (${result.entriesChecked} entries verified before it)`,
        );
        throw new Error("the audit log does not verify");
      });
    },
  },
};

function progress(job: ReEncryptJob): string {
  return `${stateName(job.state)}: ${job.recordsDone} values checked, ${job.recordsRewritten} rewritten, ${job.recordsPerSecond.toFixed(0)}/s`;
}

function stateName(state: JobState): string {
  return (JobState[state] ?? "unknown").toLowerCase();
}

function line(entry: AuditEntry): string {
  const time = entry.time ? timestampDate(entry.time).toISOString() : "-";
  const op = entry.operation === AuditOperation.READ ? "read " : "write";
  return `${entry.seq}\t${time}\t${op}\t${entry.principal}\t${entry.namespace}\t${entry.id}\t${entry.fields.join(",")}`;
}

function json(entry: AuditEntry): string {
  return JSON.stringify({
    seq: Number(entry.seq),
    time: entry.time ? timestampDate(entry.time).toISOString() : undefined,
    operation: entry.operation === AuditOperation.READ ? "read" : "write",
    principal: entry.principal,
    namespace: entry.namespace,
    id: entry.id,
    fields: entry.fields,
    hash: entry.hash,
  });
}
