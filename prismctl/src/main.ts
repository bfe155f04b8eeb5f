#!/usr/bin/env node
import { runPrismctl } from "./program.js";

/**
 * prismctl: every command and its options are in `prismctl --help` (program.ts builds the tree);
 * the exit code is the contract of errors.ts (EXIT_CODES).
 */
const code = await runPrismctl(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  progress: process.stderr,
});
process.exit(code);
