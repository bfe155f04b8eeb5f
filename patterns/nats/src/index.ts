export { natsDriver } from "./nats-driver.js";
export { NatsKeyValue } from "./nats-keyvalue.js";
export { type NatsOptions, readNatsOptions } from "./nats-options.js";
