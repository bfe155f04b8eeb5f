import type { DescEnum, DescMessage } from "@bufbuild/protobuf";

/**
 * The lowercase, dash-separated name of an enum value, without the enum's prefix.
 *
 * @example
 * enumValueName(BackendTypeSchema, BackendType.POSTGRES) // "postgres"
 * enumValueName(ConsistencySchema, Consistency.READ_YOUR_WRITES) // "read-your-writes"
 */
export function enumValueName(schema: DescEnum, value: number): string {
  const desc = schema.value[value];
  if (desc === undefined) return String(value);
  return desc.name
    .slice(schema.sharedPrefix?.length ?? 0)
    .toLowerCase()
    .replaceAll("_", "-");
}

/**
 * The message's name inside its package, nested names joined by `_` (as protoc-gen-es names them).
 *
 * @example
 * localName(UserProfileSchema) // "UserProfile"; for acme.v1.Outer.Inner: "Outer_Inner"
 */
export function localName(message: DescMessage): string {
  const pkg = message.file.proto.package;
  const relative = pkg.length > 0 ? message.typeName.slice(pkg.length + 1) : message.typeName;
  return relative.replaceAll(".", "_");
}

/**
 * English plural of a type name, for the class holding many of them.
 *
 * @example
 * pluralize("UserProfile") // "UserProfiles"; pluralize("Address") // "Addresses"; pluralize("Policy") // "Policies"
 */
export function pluralize(name: string): string {
  if (/(s|x|z|ch|sh)$/.test(name)) return `${name}es`;
  if (/[^aeiouAEIOU]y$/.test(name)) return `${name.slice(0, -1)}ies`;
  return `${name}s`;
}

/**
 * The name with its first letter lowercased.
 *
 * @example
 * lowerFirst("UserProfile") // "userProfile"
 */
export function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
