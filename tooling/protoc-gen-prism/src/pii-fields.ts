import { type DescField, type DescMessage, getOption, hasOption } from "@bufbuild/protobuf";
import {
  audit,
  encrypt,
  MaskStyle,
  MaskStyleSchema,
  mask,
  PiiKind,
  PiiKindSchema,
  pii,
} from "@prism/proto/prism/options/v1/options";
import { ModelError } from "./model.js";
import { enumValueName } from "./names.js";

/** One PII-tagged field of a model, possibly nested in a message-typed field. */
export interface PiiField {
  /**
   * Proto field names from the model down to the field: `email`, `address.street`.
   * A repeated message field adds `[]` (`contacts[].email`), a map of messages `{}`.
   */
  path: string;
  /** The PII kind, e.g. `email`, `credit-card`. */
  kind: string;
  encrypt: boolean;
  /** `partial`, `full`, `hash`, or undefined when the gateway's default applies. */
  mask: string | undefined;
  audit: boolean;
}

/**
 * Every PII-tagged field reachable from a model, depth first in field order. A message type already
 * on the path is not entered again, so recursive models terminate.
 * Throws a {@link ModelError} for `encrypt`, `mask` or `audit` on a field without a `pii` kind.
 *
 * @example
 * collectPiiFields(UserProfileSchema).map((f) => f.path) // ["email", ..., "address.street", "address.postal_code"]
 */
export function collectPiiFields(model: DescMessage): PiiField[] {
  const found: PiiField[] = [];
  const visit = (message: DescMessage, prefix: string, enclosing: readonly string[]): void => {
    for (const field of message.fields) {
      const path = prefix + field.name;
      const piiField = readPiiField(field, path);
      if (piiField) found.push(piiField);
      const nested = nestedMessage(field);
      if (nested && !enclosing.includes(nested.message.typeName)) {
        visit(nested.message, `${path}${nested.suffix}.`, [...enclosing, nested.message.typeName]);
      }
    }
  };
  visit(model, "", [model.typeName]);
  return found;
}

function readPiiField(field: DescField, path: string): PiiField | undefined {
  const kind = hasOption(field, pii) ? getOption(field, pii) : PiiKind.UNSPECIFIED;
  const maskStyle = hasOption(field, mask) ? getOption(field, mask) : MaskStyle.UNSPECIFIED;
  const flags = { encrypt: getOption(field, encrypt), audit: getOption(field, audit) };
  if (kind === PiiKind.UNSPECIFIED) {
    const stray = [
      flags.encrypt && "encrypt",
      maskStyle !== MaskStyle.UNSPECIFIED && "mask",
      flags.audit && "audit",
    ].filter((name) => typeof name === "string");
    if (stray.length > 0) {
      throw new ModelError(
        `${field.parent.typeName}.${field.name} (${field.parent.file.proto.name}): ` +
          `${stray.map((name) => `(prism.options.v1.${name})`).join(", ")} needs a (prism.options.v1.pii) kind`,
      );
    }
    return undefined;
  }
  return {
    path,
    kind: enumValueName(PiiKindSchema, kind),
    ...flags,
    mask: maskStyle === MaskStyle.UNSPECIFIED ? undefined : enumValueName(MaskStyleSchema, maskStyle),
  };
}

/** The message type a field holds (directly, repeated, or as map values), with its path suffix. */
function nestedMessage(field: DescField): { message: DescMessage; suffix: string } | undefined {
  switch (field.fieldKind) {
    case "message":
      return { message: field.message, suffix: "" };
    case "list":
      return field.listKind === "message" ? { message: field.message, suffix: "[]" } : undefined;
    case "map":
      return field.mapKind === "message" ? { message: field.message, suffix: "{}" } : undefined;
    default:
      return undefined;
  }
}
