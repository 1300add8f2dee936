export { createSimulator } from "./server.js";
export { parseKeySpecs } from "./keys.js";
export { defaultPriceMicros, UNKNOWN_MODEL_PRICE_MICROS } from "./pricing.js";
export { MAX_BODY_BYTES } from "./body.js";
export type {
  FaultAction,
  FaultInjector,
  FaultRule,
  RecordedCallback,
  RecordedRequest,
  SimEndpoint,
  Simulator,
  SimulatorOptions,
  SimulatorStats,
} from "./types.js";
