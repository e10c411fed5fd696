export * from "./errors";
export * from "./redact";
export * from "./dates";
export * from "./status";
export * from "./transport";
export * from "./calls";
export { Connector } from "./schemas";
export * from "./forSettings";
export * from "./retry";
