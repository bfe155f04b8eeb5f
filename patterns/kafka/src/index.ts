export { kafkaDriver } from "./kafka-driver.js";
export { type KafkaOptions, readKafkaOptions } from "./kafka-options.js";
export { KafkaTimeSeries } from "./kafka-timeseries.js";
export { partitionFor, topicName } from "./topics.js";
