/**
 * The local test stack as a library, for test setup and fault tests ("the backend goes away").
 *
 * @example
 * import { isHealthy, stackEndpoints, startServer, stopServer } from "@prism/stack";
 * const { postgresUrl } = stackEndpoints();
 * await stopServer("postgres");
 * expect(await isHealthy("postgres")).toBe(false);
 * await startServer("postgres"); // same data as before
 */
export {
  ENDPOINT_ENV_VARS,
  PORTS,
  STACK_ENDPOINTS,
  type StackEndpoints,
  stackDir,
  stackEndpoints,
} from "./config.js";
export { deleteNatsStreams, natsServerBinary } from "./nats.js";
export { SERVER_NAMES, type ServerName } from "./server.js";
export {
  installServer,
  isHealthy,
  type StartOutcome,
  type StopOptions,
  startServer,
  stopServer,
} from "./stack.js";
export { chromiumBinary, grpcurlBinary } from "./tools.js";
