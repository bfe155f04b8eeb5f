// The plugin as buf runs it (a separate process through tsx), on the repository's protos and on a
// broken model.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bufBin, fixture, protoDir, repoRoot, writeModule } from "./test-support.js";

/** `buf generate` in `dir` with only this plugin; returns generated file path → content. */
function bufGenerate(dir: string): Record<string, string> {
  const out = mkdtempSync(join(tmpdir(), "protoc-gen-prism-out-"));
  try {
    const template = join(out, "buf.gen.yaml");
    const plugin = [
      join(repoRoot, "node_modules/.bin/tsx"),
      join(repoRoot, "tooling/protoc-gen-prism/src/main.ts"),
    ];
    writeFileSync(
      template,
      JSON.stringify({
        version: "v2",
        plugins: [{ local: plugin, out: "gen", opt: ["target=ts", "import_extension=js"], strategy: "all" }],
      }),
    );
    execFileSync(bufBin, ["generate", "--template", template, "-o", out], { cwd: dir, stdio: "pipe" });
    return readTree(join(out, "gen"));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function readTree(root: string): Record<string, string> {
  const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  return Object.fromEntries(
    files.map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return [path.slice(root.length + 1), readFileSync(path, "utf8")];
    }),
  );
}

describe("buf generate with protoc-gen-prism", () => {
  it("reproduces the committed output under proto/src/gen (run `pnpm generate` if this fails)", () => {
    const generated = bufGenerate(protoDir);
    const committed = readTree(join(protoDir, "src/gen"));
    const ours = Object.keys(committed).filter((path) => /(_prism\.ts|\.namespace\.yaml)$/.test(path));
    expect(Object.keys(generated).sort()).toEqual(ours.sort());
    for (const [path, content] of Object.entries(generated)) expect(content, path).toBe(committed[path]);
    expect(Object.keys(generated)).toContain("acme/v1/user_profile_prism.ts");
  }, 60_000);

  it("fails with an error naming the invalid message", () => {
    const dir = writeModule({
      "fixture/v1/broken.proto": fixture(
        'message Broken { option (prism.options.v1.model) = { namespace: "broken", backend: BACKEND_TYPE_MEMORY }; }',
      ),
    });
    try {
      expect(() => bufGenerate(dir)).toThrow(/fixture\.v1\.Broken .*pattern must be PATTERN_KEYVALUE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
