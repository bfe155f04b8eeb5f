export { SqliteConfigStore } from "./config/config-store.js";
export { type GatewayConfig, gatewayConfigSchema } from "./config/gateway-config.js";
export { ConfigError, EMBEDDED_DEFAULT, loadConfig } from "./config/load-config.js";
export { openSqliteFile } from "./config/sqlite-connection.js";
export { DRIVERS } from "./drivers.js";
export { type GatewayOptions, type RunningGateway, startGateway } from "./gateway.js";
export { createLogger } from "./log.js";
export { AuditLog } from "./pii/audit-log.js";
export { SqliteAuditStore } from "./pii/audit-store.js";
