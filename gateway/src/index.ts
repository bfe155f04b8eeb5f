export { SqliteConfigStore } from "./config/config-store.js";
export { type GatewayConfig, gatewayConfigSchema } from "./config/gateway-config.js";
export { ConfigError, EMBEDDED_DEFAULT, loadConfig } from "./config/load-config.js";
export { DRIVERS } from "./drivers.js";
export { type GatewayOptions, type RunningGateway, startGateway } from "./gateway.js";
export { createLogger } from "./log.js";
