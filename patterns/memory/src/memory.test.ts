import { tmpdir } from "node:os";
import { graphConformance, keyValueConformance, timeSeriesConformance } from "@prism/core/conformance";
import { memoryDriver } from "./index.js";

keyValueConformance({
  name: "memory",
  open: () => memoryDriver.open({ name: "mem", options: {}, dataDir: tmpdir() }),
});

timeSeriesConformance({
  name: "memory",
  open: () => memoryDriver.open({ name: "mem", options: {}, dataDir: tmpdir() }),
});

graphConformance({
  name: "memory",
  open: () => memoryDriver.open({ name: "mem", options: {}, dataDir: tmpdir() }),
});
