import type { FieldViolation, TsNamespaceSettings } from "@prism/core";
import type { GatewayConfig } from "../config/gateway-config.js";
import { type NamespaceSpec, parseDuration } from "../config/namespace-spec.js";
import type { ValuePolicy } from "../pii/contract.js";
import type { HedgeCounters } from "../resilience/hedged.js";
import type { Admission } from "./admission.js";
import type { Binding } from "./binding.js";

/** A namespace ready to serve: its spec, where it came from, and its binding. */
export interface ResolvedNamespace {
  readonly spec: NamespaceSpec;
  readonly source: "config" | "store";
  readonly version: number;
  readonly updatedAt: number;
  readonly binding: Binding;
  /** Largest value accepted, from the namespace's limits or the gateway default. */
  readonly maxValueBytes: number;
  /** Its rate, per-caller rate and concurrency limits; undefined when it sets none. */
  readonly admission: Admission | undefined;
  /** TimeSeries namespaces: retention and accept window, from the spec or the gateway defaults. */
  readonly timeseries: TsNamespaceSettings | undefined;
  /** Graph: edges one traversal may examine (the namespace's limits.visit_budget or the default). */
  readonly graphVisitBudget: number;
  /** Its hedged reads (`hedge:`), counted for metrics; undefined when it does not hedge. */
  readonly hedges?: HedgeCounters | undefined;
  /**
   * Namespaces with a `schema:` whose message has PII annotations: every value passes through it
   * (masking, sealing, audit). Undefined otherwise — check it once, pay nothing without it.
   */
  readonly values?: ValuePolicy | undefined;
}

/** A TimeSeries namespace's settings: its own retention and accept window, else the gateway's defaults. */
export function timeSeriesSettings(
  spec: Pick<NamespaceSpec, "retention" | "accept_window">,
  config: Pick<GatewayConfig, "timeseries">,
): TsNamespaceSettings {
  const ms = (text: string) => parseDuration(text)!;
  const defaults = config.timeseries;
  return Object.freeze({
    retentionMs: ms(spec.retention ?? defaults.defaultRetention),
    acceptPastMs: ms(spec.accept_window?.past ?? defaults.defaultAcceptPast),
    acceptFutureMs: ms(spec.accept_window?.future ?? defaults.defaultAcceptFuture),
  });
}

/** A `path: message` problem line as a field violation (`(root)` and unprefixed lines stay whole). */
export function violationOf(problem: string): FieldViolation {
  const at = problem.indexOf(": ");
  const field = at > 0 ? problem.slice(0, at) : "";
  return /^[\w.()[\]-]+$/.test(field)
    ? { field, description: problem.slice(at + 2) }
    : { field: "(root)", description: problem };
}
