import { type DescField, type DescFile, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FieldDescriptorProto_Label } from "@bufbuild/protobuf/wkt";

/**
 * What makes a new version of a registered .proto file unsafe for data already stored with the
 * old one: one line per problem, naming the message, field and what changed (empty = compatible).
 *
 * Refused: a field number reused with another name or type (scalar kind, message or enum type,
 * singular ↔ repeated ↔ map, required); a field removed without reserving its number; a field
 * taking a number or name the old version reserved; a message removed that a namespace uses.
 * Allowed: new fields and messages, option changes (PII annotations may be added or dropped:
 * values are re-read under the new policy), removal of unused messages, comments.
 * Not checked: enum values and services (values of a namespace are messages).
 *
 * @example const problems = schemaChanges(stored, (name) => registry.getMessage(name), new Set(["acme.v1.UserProfile"]))
 */
export function schemaChanges(
  before: DescFile,
  messageAfter: (typeName: string) => DescMessage | undefined,
  inUse: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  for (const old of messagesOf(before)) {
    const next = messageAfter(old.typeName);
    if (!next) {
      if (inUse.has(old.typeName)) problems.push(`message ${old.typeName} removed, but a namespace uses it`);
      continue;
    }
    for (const field of old.fields) {
      const now = next.fields.find((candidate) => candidate.number === field.number);
      const name = `${old.typeName}.${field.name} (${field.number})`;
      if (!now) {
        if (!reservesNumber(next, field.number)) {
          problems.push(`field ${name} removed without reserving its number`);
        }
        continue;
      }
      if (now.name !== field.name) problems.push(`field ${name} renamed to ${now.name}`);
      const was = describeField(field);
      const is = describeField(now);
      if (was !== is) problems.push(`field ${name} changed from ${was} to ${is}`);
    }
    for (const field of next.fields) {
      if (old.fields.some((candidate) => candidate.number === field.number)) continue;
      if (reservesNumber(old, field.number)) {
        problems.push(`field ${next.typeName}.${field.name} takes number ${field.number}, reserved before`);
      } else if (old.proto.reservedName.includes(field.name)) {
        problems.push(`field ${next.typeName}.${field.name} takes a name reserved before`);
      }
    }
  }
  return problems;
}

/** Every message of a file, nested ones included (map entries are part of their field's type). */
export function messagesOf(file: DescFile): DescMessage[] {
  const messages: DescMessage[] = [];
  for (const type of nestedTypes(file)) {
    if (type.kind === "message" && !type.proto.options?.mapEntry) messages.push(type);
  }
  return messages;
}

function reservesNumber(message: DescMessage, number: number): boolean {
  // DescriptorProto reserved ranges are [start, end).
  return message.proto.reservedRange.some((range) => number >= range.start && number < range.end);
}

/** `string`, `repeated int64`, `map<string, acme.v1.Address>`, `required enum acme.v1.Kind`… */
export function describeField(field: DescField): string {
  const required = field.proto.label === FieldDescriptorProto_Label.REQUIRED ? "required " : "";
  switch (field.fieldKind) {
    case "scalar":
      return `${required}${scalarName(field.scalar)}`;
    case "enum":
      return `${required}enum ${field.enum.typeName}`;
    case "message":
      return `${required}${field.message.typeName}`;
    case "list":
      return `repeated ${
        field.listKind === "scalar"
          ? scalarName(field.scalar)
          : field.listKind === "enum"
            ? `enum ${field.enum.typeName}`
            : field.message.typeName
      }`;
    case "map":
      return `map<${scalarName(field.mapKey)}, ${
        field.mapKind === "scalar"
          ? scalarName(field.scalar)
          : field.mapKind === "enum"
            ? `enum ${field.enum.typeName}`
            : field.message.typeName
      }>`;
  }
}

function scalarName(type: ScalarType): string {
  return ScalarType[type].toLowerCase();
}
