import { type DescField, type DescMessage, getOption } from "@bufbuild/protobuf";
import { audit, encrypt, type MaskStyle, mask, PiiKind, pii } from "@prism/proto/prism/options/v1/options";

/** A PII field of a message: how it is masked for readers not on the `pii` list. */
export interface PiiField {
  readonly field: DescField;
  readonly kind: PiiKind;
  readonly style: MaskStyle;
}

/**
 * What a message's `prism.options.v1` field annotations ask of the gateway, read once per schema
 * version (getOption on the registered descriptors) so values are walked only where it matters.
 */
export interface FieldPlan {
  readonly message: DescMessage;
  /** Fields annotated `pii`, masked (string) or cleared (anything else) for masked readers. */
  readonly pii: readonly PiiField[];
  /** Message-typed fields (singular, repeated or map values) without `pii` that hold PII inside. */
  readonly piiInside: readonly DescField[];
  /** Fields annotated `encrypt`: moved to the sealed part at rest. */
  readonly encrypt: readonly DescField[];
  /** Singular message fields without `encrypt` that hold `encrypt` fields inside. */
  readonly encryptInside: readonly DescField[];
  /** Fields annotated `audit`. */
  readonly audit: readonly DescField[];
  /** Message-typed fields that hold `audit` fields inside. */
  readonly auditInside: readonly DescField[];
}

/** The field number the gateway's sealed envelope uses; no schema field may take it. */
export const ENVELOPE_FIELD = 536_870_911;

/**
 * Plans for `root` and every message it reaches, by type name. Throws (with the reason) when the
 * schema cannot be served: `encrypt` inside a repeated or map element (the sealed part merges
 * back by concatenation, which would append elements instead of merging them), or a field taking
 * the envelope's number.
 *
 * @example const plans = planMessage(registry.getMessage("acme.v1.UserProfile")!)
 */
export function planMessage(root: DescMessage): Map<string, FieldPlan> {
  const plans = new Map<string, FieldPlan>();
  const visit = (message: DescMessage): FieldPlan => {
    const known = plans.get(message.typeName);
    if (known) return known;
    const plan = {
      message,
      pii: [] as PiiField[],
      piiInside: [] as DescField[],
      encrypt: [] as DescField[],
      encryptInside: [] as DescField[],
      audit: [] as DescField[],
      auditInside: [] as DescField[],
    };
    // Registered before the fields are walked, so recursive messages end.
    plans.set(message.typeName, plan);
    for (const field of message.fields) {
      if (field.number === ENVELOPE_FIELD) {
        throw new Error(
          `${message.typeName}.${field.name} takes field number ${ENVELOPE_FIELD}, reserved by Prism`,
        );
      }
      const kind = getOption(field, pii);
      if (kind !== PiiKind.UNSPECIFIED) plan.pii.push({ field, kind, style: getOption(field, mask) });
      if (getOption(field, encrypt)) plan.encrypt.push(field);
      if (getOption(field, audit)) plan.audit.push(field);
      const inner = innerMessage(field);
      if (!inner) continue;
      const innerPlan = visit(inner);
      if (kind === PiiKind.UNSPECIFIED && holdsPii(innerPlan, plans)) plan.piiInside.push(field);
      if (holdsAudit(innerPlan, plans)) plan.auditInside.push(field);
      if (!getOption(field, encrypt) && holdsEncrypt(innerPlan, plans)) {
        if (field.fieldKind !== "message") {
          throw new Error(
            `${message.typeName}.${field.name}: encrypt fields inside repeated or map elements are not supported; mark the whole field encrypt`,
          );
        }
        plan.encryptInside.push(field);
      }
    }
    return plan;
  };
  visit(root);
  return plans;
}

/** The message a field holds (singular, list element or map value), if any. */
export function innerMessage(field: DescField): DescMessage | undefined {
  if (field.fieldKind === "message") return field.message;
  if (field.fieldKind === "list" && field.listKind === "message") return field.message;
  if (field.fieldKind === "map" && field.mapKind === "message") return field.message;
  return undefined;
}

function holdsPii(plan: FieldPlan, plans: Map<string, FieldPlan>): boolean {
  return holds(plan, plans, new Set(), (p) => p.pii.length > 0);
}

function holdsAudit(plan: FieldPlan, plans: Map<string, FieldPlan>): boolean {
  return holds(plan, plans, new Set(), (p) => p.audit.length > 0);
}

function holdsEncrypt(plan: FieldPlan, plans: Map<string, FieldPlan>): boolean {
  return holds(plan, plans, new Set(), (p) => p.encrypt.length > 0);
}

/**
 * Whether `plan`'s message holds what `own` looks for, itself or in any message it reaches. Walks
 * the message graph (a plan under construction may not list its inner fields yet).
 */
function holds(
  plan: FieldPlan,
  plans: Map<string, FieldPlan>,
  seen: Set<string>,
  own: (plan: FieldPlan) => boolean,
): boolean {
  if (seen.has(plan.message.typeName)) return false;
  seen.add(plan.message.typeName);
  if (own(plan)) return true;
  for (const field of plan.message.fields) {
    const inner = innerMessage(field);
    const innerPlan = inner && plans.get(inner.typeName);
    if (innerPlan && holds(innerPlan, plans, seen, own)) return true;
  }
  return false;
}

/** Whether anything in the plans asks for work: no annotation at all means no value policy. */
export function isAnnotated(plan: FieldPlan): boolean {
  return (
    plan.pii.length +
      plan.piiInside.length +
      plan.encrypt.length +
      plan.encryptInside.length +
      plan.audit.length +
      plan.auditInside.length >
    0
  );
}

/** Dotted names of the `encrypt` fields a message reaches (for error messages and the manifest). */
export function encryptedPaths(plans: Map<string, FieldPlan>, root: DescMessage): string[] {
  const out: string[] = [];
  const walk = (message: DescMessage, prefix: string, seen: Set<string>) => {
    if (seen.has(message.typeName)) return;
    const plan = plans.get(message.typeName)!;
    for (const field of plan.encrypt) out.push(`${prefix}${field.name}`);
    for (const field of plan.encryptInside) {
      walk(innerMessage(field)!, `${prefix}${field.name}.`, new Set([...seen, message.typeName]));
    }
  };
  walk(root, "", new Set());
  return out;
}
