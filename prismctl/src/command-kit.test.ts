import { describe, expect, it } from "vitest";
import { checkCount, parsePositional, splitNamespace } from "./command-kit.js";

const ID_VALUE = ["ID", "VALUE"].map(parsePositional);
const IDS = ["ID..."].map(parsePositional);
const context = { value: "ctx-ns", from: 'context "dev"' };

describe("the NAMESPACE rule", () => {
  it("takes the first argument when the command gets all of its own", () => {
    expect(splitNamespace(["ns", "id", "v"], ID_VALUE, undefined, context)).toEqual({
      namespace: { value: "ns", from: "argument" },
      rest: ["id", "v"],
    });
  });

  it("takes -n, and then no argument is the namespace", () => {
    expect(splitNamespace(["id", "v"], ID_VALUE, "flag-ns", context)).toEqual({
      namespace: { value: "flag-ns", from: "--namespace" },
      rest: ["id", "v"],
    });
    // `kv put -n ns ns id v`: one argument too many.
    expect(() =>
      checkCount(splitNamespace(["ns", "id", "v"], ID_VALUE, "ns", context).rest, ID_VALUE),
    ).toThrow("too many arguments: v");
  });

  it("takes the context's (or PRISM_NAMESPACE's) when the command gets one argument fewer", () => {
    expect(splitNamespace(["id", "v"], ID_VALUE, undefined, context)).toEqual({
      namespace: context,
      rest: ["id", "v"],
    });
  });

  it("reads a list's first word as the namespace unless -n is given; one ID alone uses the context", () => {
    expect(splitNamespace(["a", "b"], IDS, undefined, context).namespace.value).toBe("a");
    expect(splitNamespace(["a", "b"], IDS, "ns", context).rest).toEqual(["a", "b"]);
    expect(splitNamespace(["a"], IDS, undefined, context)).toEqual({ namespace: context, rest: ["a"] });
  });

  it("names what is missing", () => {
    expect(() => splitNamespace([], ID_VALUE, undefined, undefined)).toThrow(
      "missing NAMESPACE ID VALUE (a namespace may also come from -n NS, PRISM_NAMESPACE",
    );
    // Without a context, the first argument is the namespace: `kv put ns` lacks ID and VALUE.
    const { rest } = splitNamespace(["ns"], ID_VALUE, undefined, undefined);
    expect(() => checkCount(rest, ID_VALUE)).toThrow("missing ID VALUE");
    expect(() => checkCount([], IDS)).toThrow("missing ID");
    expect(() => checkCount(["a", "b", "c"], IDS)).not.toThrow();
    expect(() => checkCount([], ["[NAME]"].map(parsePositional))).not.toThrow();
  });
});
