import { findModel } from "../apixo/models.js";
import { isValidTimeZone } from "../limits/days.js";
import type { GatewayConfig } from "./schema.js";

/** Rules that span fields: references between sections and uniqueness across tenants. */
export function crossCheck(config: GatewayConfig): string[] {
  const problems: string[] = [];
  const aliases = new Set(config.upstream.keys.map((k) => k.alias));
  const tenantIds = new Map<string, number>();
  const keyOwners = new Map<string, string>();
  const pricedModels = new Set(Object.keys(config.governance.prices));

  config.tenants.forEach((tenant, t) => {
    const at = `tenants[${t}]`;
    const firstIndex = tenantIds.get(tenant.id);
    if (firstIndex !== undefined)
      problems.push(`${at}.id: "${tenant.id}" is already used by tenants[${firstIndex}]`);
    else tenantIds.set(tenant.id, t);

    if (!aliases.has(tenant.upstreamKey)) {
      problems.push(
        // The value is not echoed: a real key pasted here by mistake must not reach logs or the terminal.
        `${at}.upstreamKey: not an alias in upstream.keys (known: ${[...aliases].join(", ")})`,
      );
    }
    if (!isValidTimeZone(tenant.timeZone)) {
      problems.push(`${at}.timeZone: "${tenant.timeZone}" is not an IANA time zone (e.g. "Europe/Berlin")`);
    }
    tenant.keys.forEach((key, k) => {
      const owner = keyOwners.get(key.hash);
      if (owner !== undefined)
        problems.push(`${at}.keys[${k}].hash: the same key is already listed at ${owner}`);
      else keyOwners.set(key.hash, `${at}.keys[${k}]`);
    });
    tenant.allowedModels.forEach((model, m) => {
      if (model !== "*" && findModel(model) === undefined && !pricedModels.has(model)) {
        problems.push(
          `${at}.allowedModels[${m}]: unknown model "${model}"; add it to governance.prices to use a model the gateway does not know yet`,
        );
      }
    });
    for (const model of Object.keys(tenant.limits.perModel)) {
      if (findModel(model) === undefined && !pricedModels.has(model)) {
        problems.push(`${at}.limits.perModel.${model}: unknown model "${model}"`);
      }
    }
  });
  return problems;
}
