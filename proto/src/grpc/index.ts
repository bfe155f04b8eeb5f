export { type ClientTarget, createPromiseClient, type PromiseClient, type RpcOptions } from "./client.js";
export { type ErrorDetails, errorDetails, STATUS_DETAILS_KEY } from "./errors.js";
export { stepSize as traversalStepBytes } from "./fast-codec-graph.js";
export { deserializer, grpcServiceDefinition, serializer } from "./service-definition.js";
