import {
  AdminService,
  type GetTrafficResponse,
  GetTrafficResponseSchema,
  type NamespaceTraffic,
} from "@prism/proto/prism/admin/v1/admin";
import type { Command } from "commander";
import { withClient } from "./cli.js";
import type { Call, CommandKit } from "./command-kit.js";
import { protoJson } from "./output.js";
import type { GlobalOptions } from "./settings.js";

/** `traffic [NAMESPACE…]`: this gateway's request counters per namespace (AdminService.GetTraffic). */
export function addTrafficCommands(root: Command, kit: CommandKit): void {
  kit.gateway(
    root
      .command("traffic")
      .description(
        "This gateway's calls per namespace since it started.\n" +
          "A row a namespace, busiest first: NAMESPACE REQUESTS ERRORS MEAN P50 P99 CODE=N,… (failed calls\n" +
          "by gRPC code). P50 and P99 are latency bucket bounds (≤5ms); (none) counts calls that named\n" +
          "no namespace this gateway serves.",
      ),
    { "[NAMESPACE...]": "only these (default: every namespace with calls); -n adds one" },
    async (ctx, { args, command }: Call<object>) => {
      const explicit = (command.optsWithGlobals() as GlobalOptions).namespace;
      const namespaces = explicit === undefined ? args : [...args, explicit];
      const answer = await withClient(ctx, AdminService, (admin) => admin.getTraffic({ namespaces }));
      ctx.print.document(protoJson(GetTrafficResponseSchema, answer), () => trafficRows(answer));
    },
  );
}

/**
 * The table rows of a GetTraffic answer, busiest namespace first.
 *
 * @example trafficRows(answer) // ["demo-kv\t120\t2\t1.3ms\t≤2.5ms\t≤10ms\tNOT_FOUND=2"]
 */
export function trafficRows(answer: GetTrafficResponse): string[] {
  return [...answer.namespaces]
    .sort((a, b) =>
      a.requests === b.requests ? a.namespace.localeCompare(b.namespace) : a.requests > b.requests ? -1 : 1,
    )
    .map((row) => {
      const errors = Object.values(row.errorsByCode).reduce((sum, n) => sum + n, 0n);
      const mean = row.requests > 0n ? milliseconds(row.latencySumSeconds / Number(row.requests)) : "-";
      const codes = Object.entries(row.errorsByCode)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([code, n]) => `${code}=${n}`)
        .join(",");
      const p50 = quantile(row, answer.latencyBoundsSeconds, 0.5);
      const p99 = quantile(row, answer.latencyBoundsSeconds, 0.99);
      return [row.namespace || "(none)", row.requests, errors, mean, p50, p99, codes || "-"].join("\t");
    });
}

/** The bound of the bucket holding quantile `q`: `≤5ms`; past the last bound `>10s`; `-` without calls. */
function quantile(row: NamespaceTraffic, bounds: readonly number[], q: number): string {
  const total = row.latencyBuckets.reduce((sum, n) => sum + n, 0n);
  if (total === 0n) return "-";
  const rank = Math.ceil(Number(total) * q);
  let seen = 0;
  for (const [i, n] of row.latencyBuckets.entries()) {
    seen += Number(n);
    if (seen >= rank)
      return i < bounds.length ? `≤${milliseconds(bounds[i]!)}` : `>${milliseconds(bounds.at(-1) ?? 0)}`;
  }
  return "-";
}

/** Seconds as `0.4ms`, `12ms`, `1.5s`. */
function milliseconds(seconds: number): string {
  const ms = seconds * 1000;
  if (ms >= 1000) return `${Number((ms / 1000).toFixed(1))}s`;
  return ms >= 10 ? `${Math.round(ms)}ms` : `${Number(ms.toFixed(1))}ms`;
}
