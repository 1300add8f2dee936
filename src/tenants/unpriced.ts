import { canonicalModel } from "../apixo/endpoints.js";
import { MODELS } from "../apixo/models.js";
import { pricedModelId, type PriceTable } from "../apixo/prices.js";
import type { GatewayConfig } from "../config/schema.js";

/** A model some tenant may use that the price table does not price, and how each such tenant is charged. */
export interface UnpricedInUse {
  readonly model: string;
  /** tenant id -> "reject" or the fixed charge in USD (the tenant's unpricedModels policy). */
  readonly tenants: Readonly<Record<string, "reject" | number>>;
}

/**
 * The models in use (a tenant's allowedModels; "*" is the whole catalog) that have no price, so an operator
 * sees at start-up and on reload which submits will be refused or charged a fixed fallback.
 */
export function unpricedModelsInUse(config: GatewayConfig, prices: PriceTable): UnpricedInUse[] {
  const byModel = new Map<string, Record<string, "reject" | number>>();
  for (const tenant of config.tenants) {
    const models = tenant.allowedModels.includes("*")
      ? MODELS.map((model) => model.id)
      : tenant.allowedModels.map(canonicalModel);
    const policy = tenant.unpricedModels === "reject" ? "reject" : tenant.unpricedModels.chargeUsd;
    for (const model of models) {
      if (pricedModelId(prices, model) !== undefined) continue;
      const tenants = byModel.get(model) ?? {};
      tenants[tenant.id] = policy;
      byModel.set(model, tenants);
    }
  }
  return [...byModel].map(([model, tenants]) => ({ model, tenants }));
}
