export { postgresDriver } from "./postgres-driver.js";
export { PostgresKeyValue } from "./postgres-keyvalue.js";
export { type PostgresOptions, readPostgresOptions } from "./postgres-options.js";
