import { tmpdir } from "node:os";
import { keyValueConformance } from "@prism/core/conformance";
import { memoryDriver } from "./index.js";

keyValueConformance({
  name: "memory",
  open: () => memoryDriver.open({ name: "mem", options: {}, dataDir: tmpdir() }),
});
