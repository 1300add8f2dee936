import { buildPriceTable, modelLabelId, type PriceTable } from "../apixo/prices.js";
import type { MetricsView } from "../telemetry/metricsView.js";
import type { GatewayConfig } from "../config/schema.js";
import { TenantDirectory } from "./directory.js";
import { buildPolicy, type TenantPolicy } from "./policy.js";

/**
 * An immutable view of one configuration. A reload builds a new snapshot; a request keeps the snapshot it
 * started with, so in-flight requests are never disturbed by a reload.
 */
export interface Snapshot {
  readonly config: GatewayConfig;
  readonly directory: TenantDirectory;
  readonly prices: PriceTable;
  readonly loadedAtMs: number;
  policy(tenantId: string): TenantPolicy | undefined;
  /** The same configuration as metrics see it (label bounds, budget gauges). */
  readonly metrics: MetricsView;
}

export function buildSnapshot(config: GatewayConfig, loadedAtMs: number): Snapshot {
  const keys = new Map(config.upstream.keys.map((k) => [k.alias, k.key]));
  const policies = new Map<string, TenantPolicy>();
  for (const tenant of config.tenants) {
    const upstreamKey = keys.get(tenant.upstreamKey);
    // crossCheck guarantees the alias exists; a missing one here is a bug, not a user error.
    if (upstreamKey === undefined) throw new Error(`tenant ${tenant.id}: unknown upstream alias`);
    policies.set(tenant.id, buildPolicy(config, tenant, upstreamKey));
  }
  const prices = buildPriceTable(config.governance.prices);
  const features = new Set(config.telemetry.featureLabels);
  return {
    config,
    directory: new TenantDirectory(config.tenants),
    prices,
    loadedAtMs,
    policy: (tenantId) => policies.get(tenantId),
    metrics: {
      tenants: config.tenants,
      costDriftShare: config.telemetry.costDriftShare,
      upstreams: config.upstream.keys.map((k) => k.alias),
      models: [...prices.rules.keys()],
      featureLabels: [...features],
      isTenant: (id) => policies.has(id),
      isUpstream: (alias) => keys.has(alias),
      isFeatureLabel: (feature) => features.has(feature),
      pricedModel: (name) => modelLabelId(prices, name),
    },
  };
}
