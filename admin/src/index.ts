export type * from "./api-types.js";
export { type AdminServer, type AdminServerOptions, startAdminServer } from "./server.js";
