import { type DescMessage, getOption, hasOption } from "@bufbuild/protobuf";
import {
  BackendType,
  BackendTypeSchema,
  Consistency,
  ConsistencySchema,
  model as modelOption,
  Pattern,
  PatternSchema,
} from "@prism/proto/prism/options/v1/options";
import { enumValueName } from "./names.js";

/** A message's `(prism.options.v1.model)` option, validated and in the words of a namespace manifest. */
export interface ModelSpec {
  /** The annotated message, e.g. `acme.v1.UserProfile`. */
  message: DescMessage;
  /** The namespace the model is stored in, e.g. `user-profiles`. */
  namespace: string;
  /** The pattern enum value; only `Pattern.KEYVALUE` models get a typed client for now. */
  pattern: Pattern;
  /** `keyvalue`, `timeseries` or `graph`. */
  patternName: string;
  /** The backend type the model hints at, e.g. `postgres`. */
  backend: string;
  /** e.g. `read-your-writes`; undefined when the model leaves it to the gateway. */
  consistency: string | undefined;
  /** How long data is kept, e.g. `30d`; undefined when unset or zero (kept forever). */
  retention: string | undefined;
  /** e.g. `60s`; undefined when the model asks for no cache. */
  cacheTtl: string | undefined;
  /** Whether the model asks the gateway to cache reads. */
  cacheEnabled: boolean;
}

/** An annotated model the plugin cannot generate from; the message names the proto message. */
export class ModelError extends Error {
  override readonly name = "ModelError";
}

/** Namespace names as the gateway accepts them (`gateway/src/config/namespace-spec.ts`). */
const NAMESPACE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Reads and validates a message's `(prism.options.v1.model)` option.
 * Returns undefined for a message without the option; throws a {@link ModelError} naming the message
 * when the option is present but unusable.
 *
 * @example
 * readModel(UserProfileSchema)?.namespace // "user-profiles"
 */
export function readModel(message: DescMessage): ModelSpec | undefined {
  if (!hasOption(message, modelOption)) return undefined;
  const model = getOption(message, modelOption);
  const problems: string[] = [];
  if (!NAMESPACE_NAME.test(model.namespace)) {
    problems.push(
      model.namespace === ""
        ? "namespace is required"
        : `namespace "${model.namespace}" must be 1-63 characters of a-z, 0-9 and -, starting with a letter`,
    );
  }
  if (model.pattern === Pattern.UNSPECIFIED || PatternSchema.value[model.pattern] === undefined) {
    problems.push("pattern must be PATTERN_KEYVALUE, PATTERN_TIMESERIES or PATTERN_GRAPH");
  }
  if (model.backend === BackendType.UNSPECIFIED || BackendTypeSchema.value[model.backend] === undefined) {
    problems.push("backend must name a backend type, e.g. BACKEND_TYPE_POSTGRES");
  }
  const retention = model.retention ? formatDuration(model.retention, "retention", problems) : undefined;
  const cacheTtl = model.cache?.ttl ? formatDuration(model.cache.ttl, "cache.ttl", problems) : undefined;
  if (problems.length > 0) {
    throw new ModelError(
      `${message.typeName} (${message.file.proto.name}): invalid (prism.options.v1.model): ${problems.join("; ")}`,
    );
  }
  return {
    message,
    namespace: model.namespace,
    pattern: model.pattern,
    patternName: enumValueName(PatternSchema, model.pattern),
    backend: enumValueName(BackendTypeSchema, model.backend),
    consistency:
      model.consistency === Consistency.UNSPECIFIED
        ? undefined
        : enumValueName(ConsistencySchema, model.consistency),
    retention,
    cacheEnabled: model.cache?.enabled ?? false,
    cacheTtl,
  };
}

/**
 * A duration as a manifest writes it (`30d`, `12h`, `5m`, `90s`, `1500ms`); undefined for zero.
 * Records a problem for negative or sub-millisecond durations.
 */
function formatDuration(
  duration: { seconds: bigint; nanos: number },
  what: string,
  problems: string[],
): string | undefined {
  const { seconds, nanos } = duration;
  if (seconds < 0n || nanos < 0) {
    problems.push(`${what} must not be negative`);
    return undefined;
  }
  if (nanos % 1_000_000 !== 0) {
    problems.push(`${what} must be a whole number of milliseconds`);
    return undefined;
  }
  if (nanos !== 0) return `${seconds * 1000n + BigInt(nanos / 1_000_000)}ms`;
  if (seconds === 0n) return undefined;
  for (const [unit, size] of [
    ["d", 86_400n],
    ["h", 3_600n],
    ["m", 60n],
  ] as const) {
    if (seconds % size === 0n) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
