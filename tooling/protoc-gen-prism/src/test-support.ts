// Helpers for this package's tests: compile protos with buf (offline) and run the plugin on them.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, createFileRegistry, type DescMessage, fromBinary } from "@bufbuild/protobuf";
import {
  type CodeGeneratorRequest,
  CodeGeneratorRequestSchema,
  type FileDescriptorSet,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { protocGenPrism } from "./plugin.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
/** The repository root. */
export const repoRoot = join(packageDir, "../..");
/** The `proto/` workspace package. */
export const protoDir = join(repoRoot, "proto");
/** The buf CLI this package depends on. */
export const bufBin = join(packageDir, "node_modules/.bin/buf");

/**
 * A temporary buf module holding `files` (path → source) plus Prism's `options.proto`.
 * Remove it with `rmSync(dir, { recursive: true })`.
 */
export function writeModule(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "protoc-gen-prism-"));
  writeFileSync(join(dir, "buf.yaml"), "version: v2\n");
  const options = join(dir, "prism/options/v1/options.proto");
  mkdirSync(dirname(options), { recursive: true });
  copyFileSync(join(protoDir, "prism/options/v1/options.proto"), options);
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
  return dir;
}

/**
 * `buf build` of `paths` (relative to `dir`, a module or workspace directory): the files and their
 * imports, dependencies first.
 */
export function bufBuild(dir: string, paths: readonly string[]): FileDescriptorSet {
  const out = join(mkdtempSync(join(tmpdir(), "protoc-gen-prism-image-")), "image.binpb");
  try {
    execFileSync(bufBin, ["build", ...paths.flatMap((path) => ["--path", path]), "-o", out], {
      cwd: dir,
      stdio: ["ignore", "ignore", "pipe"],
    });
    return fromBinary(FileDescriptorSetSchema, readFileSync(out));
  } finally {
    rmSync(dirname(out), { recursive: true, force: true });
  }
}

/** The CodeGeneratorRequest protoc would send for generating `fileToGenerate` from a compiled set. */
export function codeGeneratorRequest(
  set: FileDescriptorSet,
  fileToGenerate: readonly string[],
  parameter = "target=ts,import_extension=js",
): CodeGeneratorRequest {
  return create(CodeGeneratorRequestSchema, {
    fileToGenerate: [...fileToGenerate],
    parameter,
    protoFile: set.file,
    sourceFileDescriptors: set.file.filter((file) => fileToGenerate.includes(file.name)),
  });
}

/**
 * Compiles `files` with buf and runs the plugin on all of them; returns generated file name → content.
 *
 * @example
 * const out = generate({ "x/v1/x.proto": 'syntax = "proto3"; package x.v1; message X {}' }); // {}
 */
export function generate(files: Record<string, string>, parameter?: string): Record<string, string> {
  const dir = writeModule(files);
  try {
    const names = Object.keys(files);
    return runPlugin(codeGeneratorRequest(bufBuild(dir, names), names, parameter));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the plugin in process; returns generated file name → content. */
export function runPlugin(request: CodeGeneratorRequest): Record<string, string> {
  const response = protocGenPrism.run(request);
  return Object.fromEntries(response.file.map((file) => [file.name, file.content]));
}

/**
 * Compiles `files` with buf and returns the message `typeName` as a descriptor.
 *
 * @example
 * const message = compileMessage({ "x/v1/x.proto": source }, "x.v1.X");
 */
export function compileMessage(files: Record<string, string>, typeName: string): DescMessage {
  const dir = writeModule(files);
  try {
    const message = createFileRegistry(bufBuild(dir, Object.keys(files))).getMessage(typeName);
    if (!message) throw new Error(`${typeName} is not in the compiled files`);
    return message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A proto3 file in package `fixture.v1` importing Prism's options. */
export function fixture(body: string): string {
  return `syntax = "proto3";\npackage fixture.v1;\nimport "prism/options/v1/options.proto";\n${body}\n`;
}
