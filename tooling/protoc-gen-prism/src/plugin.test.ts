import { describe, expect, it } from "vitest";
import { bufBuild, codeGeneratorRequest, fixture, generate, protoDir, runPlugin } from "./test-support.js";

const EXAMPLE = "acme/v1/user_profile.proto";

describe("protoc-gen-prism on the annotated example", () => {
  const out = runPlugin(codeGeneratorRequest(bufBuild(protoDir, [`examples/${EXAMPLE}`]), [EXAMPLE]));
  const manifest = out["acme/v1/user_profile_UserProfile.namespace.yaml"] ?? "";
  const client = out["acme/v1/user_profile_prism.ts"] ?? "";

  it("writes exactly a manifest and a typed client file", () => {
    expect(Object.keys(out).sort()).toEqual([
      "acme/v1/user_profile_UserProfile.namespace.yaml",
      "acme/v1/user_profile_prism.ts",
    ]);
  });

  it("writes the namespace manifest in the DESIGN §4 shape", () => {
    const keys = manifest.split("\n").filter((line) => /^\w/.test(line));
    expect(keys).toEqual([
      "name: user-profiles",
      "pattern: keyvalue",
      "backend: postgres",
      "schema: acme.v1.UserProfile",
    ]);
    expect(manifest).toMatch(/^# .*`backend` names a backend instance/m);
    expect(manifest).toContain("consistency read-your-writes, cache ttl 1m");
  });

  it("lists every PII field with its kind, nested fields included", () => {
    const rows = manifest
      .split("\n")
      .filter((line) => /^# {3}\S/.test(line))
      .map((line) => line.slice(1).trim().split(/\s+/));
    expect(rows).toEqual([
      ["field", "kind", "encrypt", "mask", "audit"],
      ["email", "email", "no", "partial", "yes"],
      ["display_name", "name", "no", "default", "no"],
      ["phone", "phone", "yes", "partial", "no"],
      ["ssn", "ssn", "yes", "full", "yes"],
      ["address.street", "address", "no", "default", "no"],
      ["address.postal_code", "address", "no", "default", "no"],
    ]);
  });

  it("writes the typed client and the schema registration", () => {
    expect(client).toMatch(/^export class UserProfiles \{$/m);
    expect(client).toContain('static readonly defaultNamespace = "user-profiles";');
    expect(client).toMatch(/^export const userProfileSchemaRegistration = \{$/m);
    expect(client).toMatch(/^export async function registerUserProfileSchema\($/m);
    expect(client).toContain('import { KeyValueService } from "@prism/proto/prism/keyvalue/v1/keyvalue";');
    expect(client).toContain('from "./user_profile_pb.js";');
  });
});

describe("protoc-gen-prism on other models", () => {
  it("generates nothing for messages without the model option", () => {
    expect(generate({ "fixture/v1/plain.proto": fixture("message Plain { string id = 1; }") })).toEqual({});
  });

  it("writes only a manifest, with retention, for a timeseries model", () => {
    const out = generate({
      "fixture/v1/events.proto": fixture(`message ClickEvent {
  option (prism.options.v1.model) = {
    namespace: "clicks", pattern: PATTERN_TIMESERIES, backend: BACKEND_TYPE_KAFKA, retention: {seconds: 2592000}
  };
  string url = 1;
  string ip = 2 [(prism.options.v1.pii) = PII_KIND_IP, (prism.options.v1.mask) = MASK_STYLE_HASH];
}`),
    });
    expect(Object.keys(out)).toEqual(["fixture/v1/events_ClickEvent.namespace.yaml"]);
    const manifest = out["fixture/v1/events_ClickEvent.namespace.yaml"];
    expect(manifest).toContain("name: clicks\npattern: timeseries\n");
    expect(manifest).toContain("backend: kafka\nschema: fixture.v1.ClickEvent\nretention: 30d\n");
    expect(manifest).toMatch(/^#\s+ip\s+ip\s+no\s+hash\s+no$/m);
  });

  it("says so when a model has no PII", () => {
    const out = generate({
      "fixture/v1/counter.proto": fixture(`message Counter {
  option (prism.options.v1.model) = { namespace: "counters", pattern: PATTERN_KEYVALUE, backend: BACKEND_TYPE_MEMORY };
  int64 value = 1;
}`),
    });
    expect(out["fixture/v1/counter_Counter.namespace.yaml"]).toContain("# PII fields: none.");
    expect(out["fixture/v1/counter_prism.ts"]).toMatch(/^export class Counters \{$/m);
  });
});

describe("protoc-gen-prism rejects unusable models", () => {
  const model = (option: string, fields = "string id = 1;") =>
    fixture(`message Broken {\n  option (prism.options.v1.model) = { ${option} };\n  ${fields}\n}`);

  it("fails naming the message when the pattern is unspecified", () => {
    const run = () =>
      generate({ "fixture/v1/broken.proto": model('namespace: "broken", backend: BACKEND_TYPE_MEMORY') });
    expect(run).toThrow(
      /fixture\.v1\.Broken \(fixture\/v1\/broken\.proto\): .*pattern must be PATTERN_KEYVALUE/,
    );
  });

  it("reports every problem of every model at once", () => {
    const run = () =>
      generate({
        "fixture/v1/broken.proto": `${model("pattern: PATTERN_GRAPH")}
message AlsoBroken {
  option (prism.options.v1.model) = { namespace: "Bad Name", pattern: PATTERN_KEYVALUE, backend: BACKEND_TYPE_SQLITE };
}`,
      });
    expect(run).toThrow(/fixture\.v1\.Broken .*namespace is required; backend must name a backend type/);
    expect(run).toThrow(/fixture\.v1\.AlsoBroken .*namespace "Bad Name" must be 1-63 characters/);
  });

  it("fails on PII handling options without a PII kind", () => {
    const run = () =>
      generate({
        "fixture/v1/broken.proto": model(
          'namespace: "broken", pattern: PATTERN_KEYVALUE, backend: BACKEND_TYPE_MEMORY',
          "string secret = 1 [(prism.options.v1.encrypt) = true];",
        ),
      });
    expect(run).toThrow(
      /fixture\.v1\.Broken\.secret .*\(prism\.options\.v1\.encrypt\) needs a \(prism\.options\.v1\.pii\) kind/,
    );
  });

  it("fails when two models share a namespace", () => {
    const option = 'namespace: "shared", pattern: PATTERN_KEYVALUE, backend: BACKEND_TYPE_MEMORY';
    const run = () =>
      generate({
        "fixture/v1/a.proto": fixture(`message A { option (prism.options.v1.model) = { ${option} }; }`),
        "fixture/v1/b.proto": fixture(`message B { option (prism.options.v1.model) = { ${option} }; }`),
      });
    expect(run).toThrow(/fixture\.v1\.B: namespace "shared" is already the namespace of fixture\.v1\.A/);
  });

  it("refuses targets other than ts", () => {
    const run = () =>
      generate({ "fixture/v1/plain.proto": fixture("message Plain { string id = 1; }") }, "target=js+dts");
    expect(run).toThrow(/only target=ts is supported/);
  });
});
