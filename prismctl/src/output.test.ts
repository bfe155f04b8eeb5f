import { create } from "@bufbuild/protobuf";
import { WhoAmIResponseSchema } from "@prism/proto/prism/admin/v1/admin";
import { describe, expect, it } from "vitest";
import { type Format, printer, protoJson } from "./output.js";

function capture(format: Format) {
  const out: string[] = [];
  const err: string[] = [];
  const print = printer(
    format,
    (line) => out.push(line),
    (line) => err.push(line),
  );
  return { print, out, err };
}

describe("the printer", () => {
  const data = { name: "demo", count: 2 };

  it("prints table lines, and notes on stdout", () => {
    const { print, out, err } = capture("table");
    print.document(data, () => ["demo\t2", "more"]);
    print.item(data, () => "demo\t2");
    print.note("ok");
    expect(out).toEqual(["demo\t2", "more", "demo\t2", "ok"]);
    expect(err).toEqual([]);
  });

  it("prints a document as indented JSON, items as JSON lines, notes on stderr", () => {
    const { print, out, err } = capture("json");
    print.document(data, () => "unused");
    print.item(data, () => "unused");
    print.note("ok");
    expect(out).toEqual(['{\n  "name": "demo",\n  "count": 2\n}', '{"name":"demo","count":2}']);
    expect(err).toEqual(["ok"]);
  });

  it("prints YAML documents, items after ---", () => {
    const { print, out } = capture("yaml");
    print.document(data, () => "unused");
    print.item({ id: "a" }, () => "unused");
    print.item({ id: "b" }, () => "unused");
    expect(out).toEqual(["name: demo\ncount: 2", "---\nid: a", "---\nid: b"]);
  });

  it("prints messages in the proto3 JSON mapping with every field", () => {
    const who = create(WhoAmIResponseSchema, { subject: "alice" });
    expect(protoJson(WhoAmIResponseSchema, who)).toEqual({
      subject: "alice",
      groups: [],
      admin: false,
      authMode: "",
    });
  });
});
