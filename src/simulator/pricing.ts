import { buildPriceTable, estimateCost, pricedModelId } from "../apixo/prices.js";

/**
 * What the simulator charges by default: the gateway's own built-in price table (apixo/defaultPrices.ts), so a demo's
 * estimated spend and the simulated balance drop agree (the Cost dashboard's estimated vs observed panel). A test
 * that needs other prices passes its own `priceMicros`.
 */
const TABLE = buildPriceTable();

/** Models outside the price table (the gateway charges its unpriced fallback for them). */
export const UNKNOWN_MODEL_PRICE_MICROS = 50_000;

/** `provider` as sent: a route's price, auto at the dearest route, exactly as the gateway charges it. */
export function defaultPriceMicros(
  model: string,
  input: Record<string, unknown>,
  provider?: unknown,
): number {
  const id = pricedModelId(TABLE, model);
  if (id === undefined) return UNKNOWN_MODEL_PRICE_MICROS;
  const estimate = estimateCost(TABLE, id, { input, provider });
  return estimate.kind === "priced" ? estimate.costMicros : UNKNOWN_MODEL_PRICE_MICROS;
}
