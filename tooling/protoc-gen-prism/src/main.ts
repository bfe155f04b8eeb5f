// protoc-gen-prism: reads a CodeGeneratorRequest on stdin, writes a CodeGeneratorResponse on stdout.
// buf runs it through tsx (see proto/buf.gen.yaml).
import { runNodeJs } from "@bufbuild/protoplugin";
import { protocGenPrism } from "./plugin.js";

runNodeJs(protocGenPrism);
