import { describe, expect, it } from "vitest";
import { collectPiiFields } from "./pii-fields.js";
import { compileMessage, fixture } from "./test-support.js";

describe("collectPiiFields", () => {
  it("follows message, repeated and map fields, and stops at recursion", () => {
    const message = compileMessage(
      {
        "fixture/v1/person.proto": fixture(`message Person {
  string name = 1 [(prism.options.v1.pii) = PII_KIND_NAME, (prism.options.v1.audit) = true];
  repeated Contact contacts = 2;
  map<string, Contact> by_label = 3;
  Person manager = 4;
  repeated string nicknames = 5 [(prism.options.v1.pii) = PII_KIND_NAME];
}
message Contact {
  string email = 1 [(prism.options.v1.pii) = PII_KIND_EMAIL, (prism.options.v1.encrypt) = true];
  string card = 2 [(prism.options.v1.pii) = PII_KIND_CREDIT_CARD, (prism.options.v1.mask) = MASK_STYLE_FULL];
}`),
      },
      "fixture.v1.Person",
    );
    expect(collectPiiFields(message)).toEqual([
      { path: "name", kind: "name", encrypt: false, mask: undefined, audit: true },
      { path: "contacts[].email", kind: "email", encrypt: true, mask: undefined, audit: false },
      { path: "contacts[].card", kind: "credit-card", encrypt: false, mask: "full", audit: false },
      { path: "by_label{}.email", kind: "email", encrypt: true, mask: undefined, audit: false },
      { path: "by_label{}.card", kind: "credit-card", encrypt: false, mask: "full", audit: false },
      { path: "nicknames", kind: "name", encrypt: false, mask: undefined, audit: false },
    ]);
  });
});
